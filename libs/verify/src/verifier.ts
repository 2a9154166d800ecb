import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { Verifier, type SignedEntity, type Signer, type TrustMaterial } from '@sigstore/verify';
import type { ArtifactInput } from './artifact.js';
import { leafCertificate, parseBundle } from './bundle.js';
import { classify, type FailureContext } from './classify.js';
import { assertArtifactBinding, toEntity } from './entity.js';
import { resolvePolicy, type ResolvedPolicy, type VerificationPolicy } from './policy.js';
import { VerificationFailure, failed, type SignerFacts, type VerificationResult } from './result.js';
import type { TrustRoot } from './trust-root.js';

export interface VerifyRequest {
  /** The bundle: parsed JSON, or its serialized text/bytes. */
  bundle: unknown;
  artifact: ArtifactInput;
  /** Required; verification is refused without one (`policy_missing`). */
  policy: VerificationPolicy | undefined;
}

/**
 * Verifies Sigstore bundles against one trusted root. Stateless per call and synchronous (pure
 * computation over the inputs, no I/O), so one instance serves concurrent callers.
 *
 * Order: policy, bundle shape, policy-vs-material, artifact binding, then @sigstore/verify
 * (timestamps, certificate chain at the signed time, SCTs, log inclusion, log body, signature), then
 * identity. Every failure yields a stable reason; only a fully checked bundle yields `verified`.
 */
export class BundleVerifier {
  constructor(private readonly trustRoot: TrustRoot) {
    trustRoot.material(); // an unusable root fails here, not at the first bundle
  }

  verify(request: VerifyRequest): VerificationResult {
    try {
      return this.run(request);
    } catch (err) {
      if (err instanceof VerificationFailure) return failed(err.reason, err.message);
      return failed('internal_error', `unexpected error during verification: ${String(err)}`);
    }
  }

  private run({ bundle: input, artifact, policy: rawPolicy }: VerifyRequest): VerificationResult {
    const policy = resolvePolicy(rawPolicy);
    const bundle = parseBundle(input);
    const leaf = safeLeaf(bundle);
    assertMaterialMatchesPolicy(bundle, policy);
    assertArtifactBinding(bundle, artifact);
    const entity = toEntity(bundle, artifact);
    const facts = logFacts(bundle);

    const material = this.trustRoot.material(policy.kind === 'key' ? policy.key : undefined);
    const signer = verifyCryptography(material, entity, {
      entity,
      leaf,
      signerKey: policy.kind === 'key' ? policy.key : leafKey(leaf),
      keyPolicy: policy.kind === 'key',
    });
    const signerIdentity = {
      identity: signer.identity?.subjectAlternativeName,
      issuer: signer.identity?.extensions?.issuer,
    };

    if (policy.kind === 'key') {
      return {
        status: 'verified',
        reason: 'verified',
        message: 'signature verified with the policy key',
        ...facts,
      };
    }
    const verifiedFacts: SignerFacts = { ...facts, ...definedOnly(signerIdentity) };
    if (!policy.identity.matches(signerIdentity.identity)) {
      return failed(
        'identity_mismatch',
        `certificate identity ${JSON.stringify(signerIdentity.identity ?? null)} does not match ${policy.identity.description}`,
        verifiedFacts,
      );
    }
    if (!policy.issuer.matches(signerIdentity.issuer)) {
      return failed(
        'issuer_mismatch',
        `certificate issuer ${JSON.stringify(signerIdentity.issuer ?? null)} does not match ${policy.issuer.description}`,
        verifiedFacts,
      );
    }
    return { status: 'verified', reason: 'verified', message: 'signature verified', ...verifiedFacts };
  }
}

/** @sigstore/verify without its policy step (identity is matched here, exactly or by pattern). */
function verifyCryptography(material: TrustMaterial, entity: SignedEntity, ctx: FailureContext): Signer {
  try {
    return new Verifier(material).verify(entity);
  } catch (err) {
    throw classify(err, ctx);
  }
}

function assertMaterialMatchesPolicy(bundle: Bundle, policy: ResolvedPolicy): void {
  const keySigned = bundle.verificationMaterial.content.$case === 'publicKey';
  if (policy.kind === 'identity' && keySigned) {
    throw new VerificationFailure(
      'identity_mismatch',
      'bundle is signed with a public key and carries no certificate identity; the policy requires one',
    );
  }
  if (policy.kind === 'key' && !keySigned) {
    throw new VerificationFailure(
      'key_mismatch',
      'bundle is signed with a certificate; the policy pins a public key',
    );
  }
}

/** With a pinned key, the bundle's key hint is only a label: the policy key is the one trusted. */
function safeLeaf(bundle: Bundle): X509Certificate | undefined {
  try {
    return leafCertificate(bundle);
  } catch (cause) {
    throw new VerificationFailure('bundle_malformed', 'signing certificate in the bundle does not parse', {
      cause,
    });
  }
}

function leafKey(leaf: X509Certificate | undefined): KeyObject | undefined {
  if (!leaf) return undefined;
  try {
    return createPublicKey({ key: leaf.publicKey, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function logFacts(bundle: Bundle): SignerFacts {
  const facts: SignerFacts = {};
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'publicKey' && content.publicKey.hint) facts.keyId = content.publicKey.hint;
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (entry) {
    facts.tlogIndex = entry.logIndex;
    const seconds = Number(entry.integratedTime);
    if (seconds > 0) facts.integratedTime = new Date(seconds * 1000).toISOString();
  }
  return facts;
}

function definedOnly(o: { identity?: string; issuer?: string }): SignerFacts {
  const facts: SignerFacts = {};
  if (o.identity !== undefined) facts.identity = o.identity;
  if (o.issuer !== undefined) facts.issuer = o.issuer;
  return facts;
}
