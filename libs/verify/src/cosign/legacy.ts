import { createHash, type KeyObject } from 'node:crypto';
import { crypto, dsse, pem, X509Certificate } from '@sigstore/core';
import { Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { classify } from '../classify.js';
import {
  DocumentError,
  IN_TOTO_PAYLOAD_TYPE,
  parseDsseEnvelope,
  parseStatement,
  statementNames,
} from '../intoto.js';
import { resolvePolicy, type ResolvedPolicy, type VerificationPolicy } from '../policy.js';
import { VerificationFailure, failed, type SignerFacts, type VerificationResult } from '../result.js';
import type { TrustRoot } from '../trust-root.js';
import {
  assertBodyMatches,
  keyFingerprint,
  parseRekorBundle,
  spkiOf,
  verifySignedEntryTimestamp,
} from './rekor-entry.js';

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

export interface CosignLayer {
  /** `simplesigning`: a `.sig` layer; `dsse`: a `.att` layer (DSSE envelope). */
  format: 'simplesigning' | 'dsse';
  /** The layer blob as fetched (its digest already checked). */
  blob: Uint8Array;
  /** The layer descriptor's annotations, where cosign keeps signature, certificate and log entry. */
  annotations: Record<string, string>;
  /** The subject the signed payload must name (`algorithm:hex`). */
  subject: string;
  policy: VerificationPolicy | undefined;
}

interface Signed {
  data: Buffer;
  signature: Buffer;
  /** What intoto and dsse entries record: sha256 of the payload. */
  digest: Buffer;
  /** What hashedrekord entries record: sha256 of `data`, the bytes the signature is over. */
  signedDigest: Buffer;
  envelopeDigest?: Buffer;
}

/**
 * cosign's legacy signature layers: the signature, certificate and Rekor entry live in layer
 * annotations rather than in a Sigstore bundle. Checks, in order: policy, binding to the subject
 * (before any cryptography), log entry (SET and body), certificate chain and SCT at the logged time,
 * signature, identity. Synchronous and never throws, like `BundleVerifier`.
 */
export class CosignLegacyVerifier {
  constructor(private readonly trustRoot: TrustRoot) {}

  verify(layer: CosignLayer): VerificationResult {
    try {
      return this.run(layer);
    } catch (err) {
      if (err instanceof VerificationFailure) return failed(err.reason, err.message);
      return failed('internal_error', `unexpected error during verification: ${String(err)}`);
    }
  }

  private run(layer: CosignLayer): VerificationResult {
    const policy = resolvePolicy(layer.policy);
    const signed = layer.format === 'simplesigning' ? simpleSigning(layer) : dsseLayer(layer);
    const certPem = layer.annotations[COSIGN_CERTIFICATE_ANNOTATION];
    const leaf = certPem ? parseCertificate(certPem) : undefined;
    if (policy.kind === 'identity' && !leaf) {
      throw new VerificationFailure(
        'identity_mismatch',
        'signature is made with a public key and carries no certificate identity; the policy requires one',
      );
    }
    if (policy.kind === 'key' && leaf) {
      throw new VerificationFailure(
        'key_mismatch',
        'signature is made with a certificate; the policy pins a public key',
      );
    }
    const signerKey = policy.kind === 'key' ? policy.key : leafKey(leaf);
    const keyDer = leaf ? Buffer.from(leaf.root.toDER()) : spkiOf(signerKey);

    const facts: SignerFacts = policy.kind === 'key' ? { keyId: keyFingerprint(policy.key) } : {};
    const bundleText = layer.annotations[COSIGN_BUNDLE_ANNOTATION];
    const material = this.material(policy);
    const entity: SignedEntity = {
      key: leaf ? { $case: 'certificate', certificate: leaf } : { $case: 'public-key', hint: 'policy' },
      signature: signatureContent(signed),
      timestamps: [],
      tlogEntries: [],
    };
    if (bundleText) {
      const { entry, body } = parseRekorBundle(bundleText);
      verifySignedEntryTimestamp(entry, material);
      try {
        assertBodyMatches(body, { ...signed, keyDer });
      } catch (err) {
        // A log entry for other content: if the signature itself is bad, that is the clearer reason
        // (under a key policy: the pinned key did not make it).
        if (!crypto.verify(signed.data, signerKey, signed.signature)) {
          throw policy.kind === 'key'
            ? new VerificationFailure('key_mismatch', 'signature does not verify with the policy key')
            : new VerificationFailure('signature_invalid', 'signature does not verify with the signing key');
        }
        throw err;
      }
      entity.timestamps.push({ $case: 'transparency-log', tlogEntry: entry });
      facts.tlogIndex = entry.logIndex;
      facts.integratedTime = new Date(Number(entry.integratedTime) * 1000).toISOString();
    } else if (leaf) {
      // Without a signed time there is nothing to check the short-lived certificate's validity against.
      throw new VerificationFailure(
        'tlog_invalid',
        'keyless signature has no transparency log entry (Rekor bundle)',
      );
    }

    let signer;
    try {
      signer = new Verifier(material, {
        tlogThreshold: 0,
        ctlogThreshold: leaf ? 1 : 0,
        timestampThreshold: entity.timestamps.length > 0 ? 1 : 0,
      }).verify(entity);
    } catch (err) {
      throw classify(err, { entity, leaf, signerKey, keyPolicy: policy.kind === 'key' });
    }
    if (policy.kind === 'key') {
      return {
        status: 'verified',
        reason: 'verified',
        message: 'signature verified with the policy key',
        ...facts,
      };
    }
    const identity = signer.identity?.subjectAlternativeName;
    const issuer = signer.identity?.extensions?.issuer;
    if (identity !== undefined) facts.identity = identity;
    if (issuer !== undefined) facts.issuer = issuer;
    if (!policy.identity.matches(identity)) {
      return failed(
        'identity_mismatch',
        `certificate identity ${JSON.stringify(identity ?? null)} does not match ${policy.identity.description}`,
        facts,
      );
    }
    if (!policy.issuer.matches(issuer)) {
      return failed(
        'issuer_mismatch',
        `certificate issuer ${JSON.stringify(issuer ?? null)} does not match ${policy.issuer.description}`,
        facts,
      );
    }
    return { status: 'verified', reason: 'verified', message: 'signature verified', ...facts };
  }

  private material(policy: ResolvedPolicy): TrustMaterial {
    return this.trustRoot.material(policy.kind === 'key' ? policy.key : undefined);
  }
}

/** simplesigning: the signature is over the layer bytes, which must name the subject. */
function simpleSigning(layer: CosignLayer): Signed {
  const data = Buffer.from(layer.blob);
  let payload: unknown;
  try {
    payload = JSON.parse(data.toString('utf8'));
  } catch (cause) {
    throw new VerificationFailure('bundle_malformed', 'simplesigning payload is not JSON', { cause });
  }
  const named = (payload as { critical?: { image?: Record<string, unknown> } } | null)?.critical?.image?.[
    'docker-manifest-digest'
  ];
  if (typeof named !== 'string') {
    throw new VerificationFailure(
      'bundle_malformed',
      'simplesigning payload names no critical.image.docker-manifest-digest',
    );
  }
  if (named !== layer.subject) {
    throw new VerificationFailure(
      'artifact_mismatch',
      `payload signs ${named}, not the subject ${layer.subject}`,
    );
  }
  const digest = sha256(data);
  return { data, signature: annotationSignature(layer.annotations), digest, signedDigest: digest };
}

/** DSSE: the signature is over the pre-authentication encoding; the statement must name the subject. */
function dsseLayer(layer: CosignLayer): Signed {
  let env;
  try {
    env = parseDsseEnvelope(layer.blob);
  } catch (cause) {
    throw new VerificationFailure('bundle_malformed', (cause as Error).message, { cause });
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationFailure(
      'artifact_mismatch',
      `DSSE payload type ${env.payloadType} names no subject`,
    );
  }
  try {
    if (!statementNames(parseStatement(env.payload), layer.subject)) {
      throw new VerificationFailure('artifact_mismatch', `no in-toto subject is ${layer.subject}`);
    }
  } catch (cause) {
    if (cause instanceof DocumentError)
      throw new VerificationFailure('bundle_malformed', cause.message, { cause });
    throw cause;
  }
  if (env.signatures.length !== 1 || env.signatures[0]!.sig.length === 0) {
    throw new VerificationFailure('bundle_malformed', 'DSSE envelope must carry exactly one signature');
  }
  const data = dsse.preAuthEncoding(env.payloadType, env.payload);
  return {
    data,
    signature: env.signatures[0]!.sig,
    digest: sha256(env.payload),
    signedDigest: sha256(data),
    envelopeDigest: sha256(Buffer.from(layer.blob)),
  };
}

function annotationSignature(annotations: Record<string, string>): Buffer {
  const b64 = annotations[COSIGN_SIGNATURE_ANNOTATION];
  if (!b64)
    throw new VerificationFailure(
      'bundle_malformed',
      `layer has no ${COSIGN_SIGNATURE_ANNOTATION} annotation`,
    );
  return Buffer.from(b64, 'base64');
}

function signatureContent(s: Signed): SignedEntity['signature'] {
  return {
    signature: s.signature,
    compareSignature: (other) => crypto.bufferEqual(other, s.signature),
    compareDigest: (d) => crypto.bufferEqual(d, s.digest),
    compareSignedDigest: (d) => crypto.bufferEqual(d, s.signedDigest),
    verifySignature: (key: KeyObject) => crypto.verify(s.data, key, s.signature),
  };
}

function parseCertificate(text: string): X509Certificate {
  try {
    return X509Certificate.parse(pem.toDER(text));
  } catch (cause) {
    throw new VerificationFailure('bundle_malformed', 'the signing certificate annotation does not parse', {
      cause,
    });
  }
}

function leafKey(leaf: X509Certificate | undefined): KeyObject {
  if (!leaf) throw new VerificationFailure('key_mismatch', 'no signing key');
  try {
    return crypto.createPublicKey(Buffer.from(leaf.publicKey));
  } catch (cause) {
    throw new VerificationFailure('bundle_malformed', 'the certificate key does not parse', { cause });
  }
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}
