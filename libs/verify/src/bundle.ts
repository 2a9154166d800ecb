import { bundleFromJSON, ValidationError, type Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { decodeBase64 } from './base64.js';
import { VerificationFailure } from './result.js';

/**
 * Parses a Sigstore bundle strictly. Protobuf-JSON decoding is lenient (it skips characters that
 * are not base64), so a corrupted signature would otherwise surface as some later, misleading
 * failure; bytes fields are checked first.
 */
export function parseBundle(input: unknown): Bundle {
  const json = toJSON(input);
  assertOneContent(json);
  assertBase64Fields(json);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (cause) {
    throw fromBundleError(cause);
  }
  assertNoRootInChain(bundle);
  return bundle;
}

/** The leaf signing certificate, when the bundle is keyless. */
export function leafCertificate(bundle: Bundle): X509Certificate | undefined {
  const content = bundle.verificationMaterial.content;
  switch (content.$case) {
    case 'certificate':
      return X509Certificate.parse(Buffer.from(content.certificate.rawBytes));
    case 'x509CertificateChain': {
      const first = content.x509CertificateChain.certificates[0];
      return first ? X509Certificate.parse(Buffer.from(first.rawBytes)) : undefined;
    }
    case 'publicKey':
      return undefined;
  }
}

/**
 * `content` is a protobuf oneof, and the decoder silently keeps the message signature when both
 * are present. Anything else read from the bundle (its statement, its kind) would then come from
 * an envelope nobody verified, so such a bundle is refused outright.
 */
function assertOneContent(json: unknown): void {
  const o = json as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.messageSignature != null && o.dsseEnvelope != null) {
    throw new VerificationFailure(
      'bundle_malformed',
      'bundle carries both a message signature and a DSSE envelope; content is one of them',
    );
  }
}

function toJSON(input: unknown): unknown {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new VerificationFailure('bundle_malformed', `bundle is not valid JSON: ${message(cause)}`, {
        cause,
      });
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new VerificationFailure('bundle_malformed', 'bundle is not a JSON object');
  }
  return input;
}

function fromBundleError(cause: unknown): VerificationFailure {
  if (cause instanceof ValidationError) {
    // A structurally incomplete tlog entry (no inclusion proof, no checkpoint) is missing log
    // evidence, which is what callers need to hear, rather than a generic shape error.
    const tlogOnly =
      cause.fields.length > 0 && cause.fields.every((f) => f.startsWith('verificationMaterial.tlogEntries'));
    return new VerificationFailure(
      tlogOnly ? 'tlog_invalid' : 'bundle_malformed',
      `${cause.message}: ${cause.fields.join(', ')}`,
      { cause },
    );
  }
  return new VerificationFailure('bundle_malformed', `bundle does not parse: ${message(cause)}`, { cause });
}

function assertBase64Fields(json: unknown): void {
  const b = json as RawBundle;
  const vm = b.verificationMaterial;
  const fields: (readonly [string, unknown])[] = [
    ['messageSignature.signature', b.messageSignature?.signature],
    ['messageSignature.messageDigest.digest', b.messageSignature?.messageDigest?.digest],
    ['dsseEnvelope.payload', b.dsseEnvelope?.payload],
    ...(b.dsseEnvelope?.signatures ?? []).map(
      (s, i) => [`dsseEnvelope.signatures[${i}].sig`, s?.sig] as const,
    ),
    ['verificationMaterial.certificate.rawBytes', vm?.certificate?.rawBytes],
    ...(vm?.x509CertificateChain?.certificates ?? []).map(
      (c, i) => [`verificationMaterial.x509CertificateChain.certificates[${i}]`, c?.rawBytes] as const,
    ),
    ...(vm?.tlogEntries ?? []).flatMap((t, i) => [
      [`tlogEntries[${i}].logId.keyId`, t?.logId?.keyId] as const,
      [`tlogEntries[${i}].canonicalizedBody`, t?.canonicalizedBody] as const,
      [
        `tlogEntries[${i}].inclusionPromise.signedEntryTimestamp`,
        t?.inclusionPromise?.signedEntryTimestamp,
      ] as const,
      [`tlogEntries[${i}].inclusionProof.rootHash`, t?.inclusionProof?.rootHash] as const,
      ...(t?.inclusionProof?.hashes ?? []).map(
        (h, j) => [`tlogEntries[${i}].inclusionProof.hashes[${j}]`, h] as const,
      ),
    ]),
    ...(vm?.timestampVerificationData?.rfc3161Timestamps ?? []).map(
      (t, i) => [`rfc3161Timestamps[${i}].signedTimestamp`, t?.signedTimestamp] as const,
    ),
  ];
  for (const [where, value] of fields) {
    if (value === undefined) continue;
    // The bytes fields of protobuf JSON: the form decodeBase64 reads.
    if (decodeBase64(value) === undefined) {
      throw new VerificationFailure('bundle_malformed', `bundle field ${where} is not valid base64`);
    }
  }
}

/**
 * A chain in the bundle may carry intermediates, never a trust anchor: trust comes from the
 * trusted root alone, and a self-signed certificate in the bundle signals a forged or confused chain.
 */
function assertNoRootInChain(bundle: Bundle): void {
  const content = bundle.verificationMaterial.content;
  if (content.$case !== 'x509CertificateChain') return;
  content.x509CertificateChain.certificates.forEach((c, i) => {
    let cert: X509Certificate;
    try {
      cert = X509Certificate.parse(Buffer.from(c.rawBytes));
    } catch (cause) {
      throw new VerificationFailure('bundle_malformed', `certificate ${i} in the bundle does not parse`, {
        cause,
      });
    }
    if (cert.subject.equals(cert.issuer) && safeSelfVerify(cert)) {
      throw new VerificationFailure(
        'certificate_untrusted',
        `certificate ${i} in the bundle's chain is a self-signed root; roots come from the trusted root only`,
      );
    }
  });
}

function safeSelfVerify(cert: X509Certificate): boolean {
  try {
    return cert.verify();
  } catch {
    return false;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface RawBundle {
  messageSignature?: { signature?: unknown; messageDigest?: { digest?: unknown } };
  dsseEnvelope?: { payload?: unknown; signatures?: ({ sig?: unknown } | null)[] };
  verificationMaterial?: {
    certificate?: { rawBytes?: unknown };
    x509CertificateChain?: { certificates?: ({ rawBytes?: unknown } | null)[] };
    tlogEntries?: ({
      logId?: { keyId?: unknown };
      canonicalizedBody?: unknown;
      inclusionPromise?: { signedEntryTimestamp?: unknown };
      inclusionProof?: { rootHash?: unknown; hashes?: unknown[] };
    } | null)[];
    timestampVerificationData?: { rfc3161Timestamps?: ({ signedTimestamp?: unknown } | null)[] };
  };
}
