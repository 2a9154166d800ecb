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
  /** sha256 the log records: of the simplesigning payload, or of the DSSE payload. */
  digest: Buffer;
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
 * The logged entry must record this very signature, digest and key. Rekor entry kinds cosign has
 * written: hashedrekord 0.0.1 (signatures), intoto 0.0.1/0.0.2 and dsse 0.0.1 (attestations).
 */
export function assertBodyMatches(body: RekorBody, content: LoggedContent): void {
  const s = body.spec as Spec;
  const where = `${body.kind}/${body.apiVersion}`;
  let sig: string | undefined;
  let digest: string | undefined;
  let key: string | undefined;
  if (body.kind === 'hashedrekord' && body.apiVersion === '0.0.1') {
    sig = s.signature?.content;
    digest = s.data?.hash?.value;
    key = s.signature?.publicKey?.content;
  } else if (body.kind === 'intoto' && body.apiVersion === '0.0.1') {
    digest = s.content?.payloadHash?.value;
    key = s.publicKey;
    const envelope = s.content?.hash?.value;
    if (content.envelopeDigest && envelope && envelope !== content.envelopeDigest.toString('hex')) {
      throw mismatch(where, 'envelope hash');
    }
  } else if (body.kind === 'intoto' && body.apiVersion === '0.0.2') {
    const first = s.content?.envelope?.signatures;
    if (first?.length !== 1) throw mismatch(where, 'signature count');
    sig = first[0]?.sig ? Buffer.from(first[0].sig, 'base64').toString('utf8') : undefined;
    digest = s.content?.payloadHash?.value;
    key = first[0]?.publicKey;
  } else if (body.kind === 'dsse' && body.apiVersion === '0.0.1') {
    if (s.signatures?.length !== 1) throw mismatch(where, 'signature count');
    sig = s.signatures[0]?.signature;
    digest = s.payloadHash?.value;
    key = s.signatures[0]?.verifier;
  } else {
    throw new VerificationFailure('tlog_invalid', `unsupported Rekor entry kind ${where}`);
  }
  if (sig !== undefined && !crypto.bufferEqual(Buffer.from(sig, 'base64'), content.signature)) {
    throw mismatch(where, 'signature');
  }
  if (digest === undefined || digest.toLowerCase() !== content.digest.toString('hex')) {
    throw mismatch(where, 'digest');
  }
  if (key === undefined || !sameKey(Buffer.from(key, 'base64').toString('utf8'), content.keyDer)) {
    throw mismatch(where, 'signing key or certificate');
  }
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
}
