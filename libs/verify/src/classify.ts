import type { KeyObject } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import { PolicyError, VerificationError, type SignedEntity } from '@sigstore/verify';
import { VerificationFailure, type FailureReason } from './result.js';

/** What is needed to turn a sigstore-js error into the precise reason. */
export interface FailureContext {
  entity: SignedEntity;
  /** Leaf certificate of a keyless bundle. */
  leaf?: X509Certificate;
  /** Key the signature must verify under (the leaf's, or the policy's). */
  signerKey?: KeyObject;
  keyPolicy: boolean;
}

/**
 * sigstore-js error code -> refgraph reason. Some codes are refined by a diagnostic that only ever
 * runs after verification has already failed, so it can sharpen the reason but never the outcome.
 */
export function classify(err: unknown, ctx: FailureContext): VerificationFailure {
  if (err instanceof VerificationFailure) return err;
  if (err instanceof PolicyError) return wrap('identity_mismatch', err);
  if (!(err instanceof VerificationError)) {
    return new VerificationFailure('internal_error', `unexpected error during verification: ${text(err)}`, {
      cause: err,
    });
  }
  switch (err.code) {
    case 'TLOG_BODY_ERROR':
      // The bundle differs from what was logged. If its signature is not even valid, say that.
      return signatureVerifies(ctx) === false
        ? wrap('signature_invalid', err, 'signature does not verify with the signing key')
        : wrap('tlog_invalid', err, 'transparency log entry does not match the bundle');
    case 'TLOG_ERROR':
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_INCLUSION_PROMISE_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return wrap('tlog_invalid', err);
    case 'CERTIFICATE_ERROR':
      if (/SCT/i.test(err.message)) return wrap('certificate_untrusted', err);
      return leafValidAtSignedTimes(ctx) === false
        ? wrap('certificate_time_invalid', err, 'signing certificate was not valid at the signed time')
        : wrap('certificate_untrusted', err);
    case 'PUBLIC_KEY_ERROR':
      return wrap('key_mismatch', err);
    case 'SIGNATURE_ERROR':
      // The log entry matched, so a key-pinned bundle failing here was signed by another key.
      return ctx.keyPolicy
        ? wrap('key_mismatch', err, 'signature does not verify with the policy key')
        : wrap('signature_invalid', err);
    case 'TIMESTAMP_ERROR':
      return wrap('timestamp_invalid', err);
    case 'NOT_IMPLEMENTED_ERROR':
      return wrap('unsupported', err);
  }
}

function wrap(reason: FailureReason, err: Error, prefix?: string): VerificationFailure {
  return new VerificationFailure(reason, prefix ? `${prefix}: ${err.message}` : err.message, { cause: err });
}

function signatureVerifies(ctx: FailureContext): boolean | undefined {
  if (!ctx.signerKey) return undefined;
  try {
    return ctx.entity.signature.verifySignature(ctx.signerKey);
  } catch {
    return undefined;
  }
}

/** False when some signed time (log integrated time, RFC 3161 time) is outside the leaf's validity. */
function leafValidAtSignedTimes(ctx: FailureContext): boolean | undefined {
  const leaf = ctx.leaf;
  if (!leaf) return undefined;
  try {
    const times = signedTimes(ctx.entity);
    return times.length === 0 ? undefined : times.every((t) => leaf.validForDate(t));
  } catch {
    return undefined;
  }
}

function signedTimes(entity: SignedEntity): Date[] {
  return entity.timestamps.flatMap((t) => {
    switch (t.$case) {
      case 'timestamp-authority':
        return [t.timestamp.signingTime];
      case 'transparency-log': {
        const seconds = Number(t.tlogEntry.integratedTime);
        return seconds > 0 ? [new Date(seconds * 1000)] : [];
      }
    }
  });
}

function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
