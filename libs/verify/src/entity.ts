import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { artifactSha256, type ArtifactInput } from './artifact.js';
import { verifyEcdsaPrehashed } from './ecdsa-prehashed.js';
import { VerificationFailure } from './result.js';

type SignatureContent = SignedEntity['signature'];

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const SHA512_DIGEST_RE = /^sha512:([0-9a-f]{128})$/;

const NODE_HASH: Partial<Record<HashAlgorithm, string>> = {
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
  [HashAlgorithm.SHA3_256]: 'sha3-256',
  [HashAlgorithm.SHA3_384]: 'sha3-384',
};

/**
 * Checks that the bundle is about this artifact, before any cryptography, so a mismatch is
 * reported as such rather than as the signature failure it would later cause.
 * - message signature: the bundle's digest equals the artifact's (same algorithm);
 * - DSSE: the envelope is an in-toto statement with a subject carrying the artifact's sha256.
 */
export function assertArtifactBinding(bundle: Bundle, artifact: ArtifactInput): void {
  const content = bundle.content;
  switch (content.$case) {
    case 'messageSignature': {
      const { algorithm, digest } = content.messageSignature.messageDigest ?? {};
      if (!digest || digest.length === 0) {
        throw new VerificationFailure('bundle_malformed', 'message signature bundle has no message digest');
      }
      const actual = artifactDigest(artifact, algorithm ?? HashAlgorithm.SHA2_256);
      if (!bufferEqual(actual, Buffer.from(digest))) {
        throw new VerificationFailure(
          'artifact_mismatch',
          `bundle signs digest ${Buffer.from(digest).toString('hex')}, the artifact's is ${actual.toString('hex')}`,
        );
      }
      return;
    }
    case 'dsseEnvelope': {
      const env = content.dsseEnvelope;
      if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
        throw new VerificationFailure(
          'artifact_mismatch',
          `DSSE payload type ${env.payloadType} is not an in-toto statement; it names no subject`,
        );
      }
      // A sha512 digest (npm provenance subjects carry only sha512) binds through the same algorithm.
      const sha512 = 'digest' in artifact ? SHA512_DIGEST_RE.exec(artifact.digest)?.[1] : undefined;
      const algorithm = sha512 ? 'sha512' : 'sha256';
      const want = sha512 ?? artifactSha256(artifact).toString('hex');
      const subjects = statementSubjects(Buffer.from(env.payload), algorithm);
      if (!subjects.some((s) => s.toLowerCase() === want)) {
        throw new VerificationFailure('artifact_mismatch', `no in-toto subject has ${algorithm} ${want}`);
      }
      return;
    }
  }
}

/**
 * The signed entity @sigstore/verify checks, adapted where it does not cover the case: for a
 * digest-only artifact, the message signature is verified over the given digest (ECDSA).
 *
 * DSSE logged as hashedrekord (Rekor v2 `hashedrekord` 0.0.2, also 0.0.1) needs no adaptation
 * since @sigstore/verify 4.1: the entry records the digest of the DSSE pre-authentication
 * encoding, which its DSSE content compares through `compareSignedDigest`.
 */
export function toEntity(bundle: Bundle, artifact: ArtifactInput): SignedEntity {
  const bytes = 'bytes' in artifact ? Buffer.from(artifact.bytes) : undefined;
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, bytes);
  } catch (cause) {
    // Certificates and RFC 3161 timestamps are decoded here; bytes that do not decode are malformed.
    throw new VerificationFailure('bundle_malformed', `bundle content does not decode: ${String(cause)}`, {
      cause,
    });
  }
  if (bundle.content.$case === 'messageSignature' && !bytes) {
    return { ...entity, signature: prehashedContent(entity.signature, artifactSha256(artifact)) };
  }
  return entity;
}

function prehashedContent(inner: SignatureContent, digest: Buffer): SignatureContent {
  return {
    signature: inner.signature,
    compareSignature: (s) => inner.compareSignature(s),
    compareDigest: (d) => inner.compareDigest(d),
    compareSignedDigest: (d) => inner.compareSignedDigest(d),
    verifySignature: (key: KeyObject) => {
      if (key.asymmetricKeyType !== 'ec') {
        throw new VerificationFailure(
          'unsupported',
          `a ${key.asymmetricKeyType ?? 'unknown'} signature cannot be verified from a digest alone; give the artifact bytes`,
        );
      }
      return verifyEcdsaPrehashed(key, digest, inner.signature);
    },
  };
}

function artifactDigest(artifact: ArtifactInput, algorithm: HashAlgorithm): Buffer {
  const name = NODE_HASH[algorithm] ?? 'sha256';
  if ('bytes' in artifact) return createHash(name).update(artifact.bytes).digest();
  if (name !== 'sha256') {
    throw new VerificationFailure(
      'unsupported',
      `bundle signs a ${name} digest; only a sha256 digest was given`,
    );
  }
  return artifactSha256(artifact);
}

function statementSubjects(payload: Buffer, algorithm: 'sha256' | 'sha512'): string[] {
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch (cause) {
    throw new VerificationFailure('bundle_malformed', 'in-toto statement in the DSSE envelope is not JSON', {
      cause,
    });
  }
  const subject = (statement as { subject?: unknown }).subject;
  if (!Array.isArray(subject)) {
    throw new VerificationFailure('bundle_malformed', 'in-toto statement has no subject list');
  }
  return subject.flatMap((s: unknown) => {
    const digest = (s as { digest?: Record<string, unknown> } | null)?.digest?.[algorithm];
    return typeof digest === 'string' ? [digest] : [];
  });
}

function bufferEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
