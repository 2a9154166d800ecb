import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { crypto, json, pem } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { VerificationFailure } from '../result.js';

/**
 * The Rekor v1 "bundle" cosign stores in the `dev.sigstore.cosign/bundle` annotation: the signed
 * entry timestamp (SET) over the canonical JSON of `Payload`.
 */
export interface RekorBundle {
  entry: TransparencyLogEntry;
  body: RekorBody;
}

export interface RekorBody {
  kind: string;
  apiVersion: string;
  spec: Record<string, unknown>;
}

/** What the signature is over, as the log must have recorded it. */
export interface LoggedContent {
  signature: Buffer;
  /** sha256 of the payload: of the simplesigning payload, or of the DSSE payload (intoto, dsse). */
  digest: Buffer;
  /**
   * sha256 of the bytes the signature is over (hashedrekord records it): the simplesigning
   * payload, or the DSSE pre-authentication encoding.
   */
  signedDigest: Buffer;
  /** Leaf certificate DER, or the signing key's SPKI DER. */
  keyDer: Buffer;
  /** sha256 of the DSSE envelope bytes (intoto v0.0.1 records it); absent for message signatures. */
  envelopeDigest?: Buffer;
}

export function parseRekorBundle(annotation: string): RekorBundle {
  let raw: unknown;
  try {
    raw = JSON.parse(annotation);
  } catch (cause) {
    throw new VerificationFailure('tlog_invalid', 'the Rekor bundle annotation is not JSON', { cause });
  }
  const r = raw as { SignedEntryTimestamp?: unknown; Payload?: Record<string, unknown> };
  const p = r.Payload;
  if (
    typeof r.SignedEntryTimestamp !== 'string' ||
    !p ||
    typeof p.body !== 'string' ||
    typeof p.logID !== 'string' ||
    !/^[0-9a-f]{64}$/.test(p.logID) ||
    !Number.isSafeInteger(p.integratedTime) ||
    !Number.isSafeInteger(p.logIndex)
  ) {
    throw new VerificationFailure(
      'tlog_invalid',
      'the Rekor bundle annotation lacks SET, body, log id, time or index',
    );
  }
  const canonicalizedBody = Buffer.from(p.body, 'base64');
  let body: RekorBody;
  try {
    body = JSON.parse(canonicalizedBody.toString('utf8')) as RekorBody;
  } catch (cause) {
    throw new VerificationFailure('tlog_invalid', 'the Rekor entry body is not JSON', { cause });
  }
  if (
    typeof body?.kind !== 'string' ||
    typeof body.apiVersion !== 'string' ||
    typeof body.spec !== 'object'
  ) {
    throw new VerificationFailure('tlog_invalid', 'the Rekor entry body has no kind, version or spec');
  }
  const entry: TransparencyLogEntry = {
    logIndex: String(p.logIndex),
    logId: { keyId: Buffer.from(p.logID, 'hex') },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(p.integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(r.SignedEntryTimestamp, 'base64') },
    inclusionProof: undefined,
    canonicalizedBody,
  };
  return { entry, body };
}

/** The SET must verify under a trusted log key that was valid at the integrated time. */
export function verifySignedEntryTimestamp(entry: TransparencyLogEntry, material: TrustMaterial): void {
  const at = new Date(Number(entry.integratedTime) * 1000);
  const logs = material.tlogs.filter(
    (t) => crypto.bufferEqual(t.logID, entry.logId.keyId) && t.validFor.start <= at && at <= t.validFor.end,
  );
  if (logs.length === 0) {
    throw new VerificationFailure(
      'tlog_invalid',
      `log ${entry.logId.keyId.toString('hex')} is not a trusted transparency log at ${at.toISOString()}`,
    );
  }
  const payload = {
    body: entry.canonicalizedBody.toString('base64'),
    integratedTime: Number(entry.integratedTime),
    logIndex: Number(entry.logIndex),
    logID: entry.logId.keyId.toString('hex'),
  };
  const data = Buffer.from(json.canonicalize(payload), 'utf8');
  const sig = entry.inclusionPromise?.signedEntryTimestamp ?? Buffer.alloc(0);
  if (!logs.some((t) => crypto.verify(data, t.publicKey, sig))) {
    throw new VerificationFailure(
      'tlog_invalid',
      'the signed entry timestamp does not verify with the log key',
    );
  }
}

/**
 * The logged entry must record this very signature, digest and key. Rekor v1 entry kinds cosign
 * has written: hashedrekord 0.0.1 (signatures), intoto 0.0.1/0.0.2 and dsse 0.0.1 (attestations);
 * Rekor v2: hashedrekord 0.0.2 and dsse 0.0.2. A hashedrekord entry records the digest of the signed
 * bytes, so over a DSSE envelope it is the digest of the pre-authentication encoding.
 */
export function assertBodyMatches(body: RekorBody, content: LoggedContent): void {
  const where = `${body.kind}/${body.apiVersion}`;
  const logged = loggedFields(body, content);
  if (logged.sig !== undefined && !crypto.bufferEqual(logged.sig, content.signature)) {
    throw mismatch(where, 'signature');
  }
  const want = logged.digestKind === 'signed' ? content.signedDigest : content.digest;
  if (logged.digest === undefined || !crypto.bufferEqual(logged.digest, want)) {
    throw mismatch(where, 'digest');
  }
  if (logged.key === undefined || !logged.key(content.keyDer)) {
    throw mismatch(where, 'signing key or certificate');
  }
}

interface LoggedFields {
  sig?: Buffer;
  digest?: Buffer;
  digestKind: 'payload' | 'signed';
  /** Whether the logged key is ours (DER of the certificate or SPKI of the key). */
  key?: (ours: Buffer) => boolean;
}

function loggedFields(body: RekorBody, content: LoggedContent): LoggedFields {
  const s = body.spec as Spec;
  const where = `${body.kind}/${body.apiVersion}`;
  const pemKey = (b64: string | undefined) =>
    b64 === undefined
      ? undefined
      : (ours: Buffer) => sameKey(Buffer.from(b64, 'base64').toString('utf8'), ours);
  switch (where) {
    case 'hashedrekord/0.0.1':
      return {
        sig: b64(s.signature?.content),
        digest: hex(s.data?.hash?.value),
        digestKind: 'signed',
        key: pemKey(s.signature?.publicKey?.content),
      };
    case 'hashedrekord/0.0.2': {
      const v = s.hashedRekordV002;
      return {
        sig: b64(v?.signature?.content),
        digest: sha256Of(v?.data),
        digestKind: 'signed',
        key: v2Key(v?.signature?.verifier),
      };
    }
    case 'intoto/0.0.1': {
      const envelope = s.content?.hash?.value;
      if (content.envelopeDigest && envelope && envelope !== content.envelopeDigest.toString('hex')) {
        throw mismatch(where, 'envelope hash');
      }
      return { digest: hex(s.content?.payloadHash?.value), digestKind: 'payload', key: pemKey(s.publicKey) };
    }
    case 'intoto/0.0.2': {
      const first = s.content?.envelope?.signatures;
      if (first?.length !== 1) throw mismatch(where, 'signature count');
      const sig = first[0]?.sig;
      return {
        // intoto 0.0.2 double-encodes the signature: base64 of the base64 text.
        sig:
          sig === undefined ? undefined : Buffer.from(Buffer.from(sig, 'base64').toString('utf8'), 'base64'),
        digest: hex(s.content?.payloadHash?.value),
        digestKind: 'payload',
        key: pemKey(first[0]?.publicKey),
      };
    }
    case 'dsse/0.0.1':
      if (s.signatures?.length !== 1) throw mismatch(where, 'signature count');
      return {
        sig: b64(s.signatures[0]?.signature),
        digest: hex(s.payloadHash?.value),
        digestKind: 'payload',
        key: pemKey(s.signatures[0]?.verifier),
      };
    case 'dsse/0.0.2': {
      const v = s.dsseV002;
      if (v?.signatures?.length !== 1) throw mismatch(where, 'signature count');
      return {
        sig: b64(v.signatures[0]?.content),
        digest: sha256Of(v.payloadHash),
        digestKind: 'payload',
        key: v2Key(v.signatures[0]?.verifier),
      };
    }
    default:
      throw new VerificationFailure('tlog_invalid', `unsupported Rekor entry kind ${where}`);
  }
}

/** Rekor v2 verifiers carry DER: a certificate, or a public key's SPKI. */
function v2Key(verifier: V2Verifier | undefined): ((ours: Buffer) => boolean) | undefined {
  const der = b64(verifier?.x509Certificate?.rawBytes ?? verifier?.publicKey?.rawBytes);
  return der && ((ours) => crypto.bufferEqual(der, ours));
}

/** A Rekor v2 hash output; only SHA2_256 is what the content digests here are. */
function sha256Of(h: { algorithm?: string; digest?: string } | undefined): Buffer | undefined {
  return h?.algorithm === 'SHA2_256' ? b64(h.digest) : undefined;
}

function b64(text: string | undefined): Buffer | undefined {
  return typeof text === 'string' ? Buffer.from(text, 'base64') : undefined;
}

function hex(text: string | undefined): Buffer | undefined {
  return typeof text === 'string' && /^(?:[0-9a-fA-F]{2})+$/.test(text)
    ? Buffer.from(text, 'hex')
    : undefined;
}

/** The logged key is PEM (certificate or public key); compare it with ours as DER. */
function sameKey(loggedPem: string, ours: Buffer): boolean {
  try {
    if (loggedPem.includes('CERTIFICATE')) return crypto.bufferEqual(pem.toDER(loggedPem), ours);
    return crypto.bufferEqual(spkiOf(createPublicKey(loggedPem)), ours);
  } catch {
    return false;
  }
}

export function spkiOf(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

/** Key fingerprint stored for keyed signatures: `sha256:<hex of the SPKI DER>`. */
export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(spkiOf(key)).digest('hex')}`;
}

function mismatch(where: string, what: string): VerificationFailure {
  return new VerificationFailure('tlog_invalid', `the ${where} log entry records another ${what}`);
}

interface Spec {
  data?: { hash?: { value?: string } };
  signature?: { content?: string; publicKey?: { content?: string } };
  content?: {
    hash?: { value?: string };
    payloadHash?: { value?: string };
    envelope?: { signatures?: { sig?: string; publicKey?: string }[] };
  };
  publicKey?: string;
  payloadHash?: { value?: string };
  signatures?: { signature?: string; verifier?: string }[];
  hashedRekordV002?: {
    data?: { algorithm?: string; digest?: string };
    signature?: { content?: string; verifier?: V2Verifier };
  };
  dsseV002?: {
    payloadHash?: { algorithm?: string; digest?: string };
    signatures?: { content?: string; verifier?: V2Verifier }[];
  };
}

interface V2Verifier {
  x509Certificate?: { rawBytes?: string };
  publicKey?: { rawBytes?: string };
}
