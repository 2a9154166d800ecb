// Verification of one signature layer under one trust rule: which verifier, which authorities.
import type { Descriptor } from '#oci';
import { CosignLegacyVerifier } from './cosign/legacy.js';
import { decide, type Decision } from './decide.js';
import { verifyNotationEnvelope } from './notation/index.js';
import type { LayerTask } from './plan.js';
import type { VerificationResult } from './result.js';
import type { Authority, TrustRule } from './trust-policy.js';
import type { TrustRoot } from './trust-root.js';
import { BundleVerifier } from './verifier.js';

/** The subject a layer is verified against; notation binds to its whole descriptor when known. */
export interface LayerSubject {
  digest: string;
  descriptor?: Descriptor;
}

/**
 * Verifies signature layers (Sigstore bundles, cosign simplesigning and DSSE, notation) against
 * the authorities of a trust rule. Synchronous and stateless per call.
 */
export class LayerVerifier {
  private readonly bundles: BundleVerifier;
  private readonly cosign: CosignLegacyVerifier;

  constructor(trustRoot: TrustRoot) {
    this.bundles = new BundleVerifier(trustRoot);
    this.cosign = new CosignLegacyVerifier(trustRoot);
  }

  /** The outcome `rule` stores for this layer and subject; `scope` names the repository in messages. */
  decide(
    task: LayerTask,
    blob: Buffer,
    subject: LayerSubject,
    rule: TrustRule | null,
    scope: string,
  ): Decision {
    return decide(rule, scope, authorityKinds(task), (a) => this.attempt(task, blob, subject, a));
  }

  private attempt(task: LayerTask, blob: Buffer, subject: LayerSubject, a: Authority): VerificationResult {
    switch (task.action) {
      case 'sigstore-bundle':
        return this.bundles.verify({
          bundle: blob,
          artifact: { digest: subject.digest },
          policy: policyOf(a),
        });
      case 'cosign-simplesigning':
      case 'cosign-dsse':
        return this.cosign.verify({
          format: task.action === 'cosign-dsse' ? 'dsse' : 'simplesigning',
          blob,
          annotations: task.layer.annotations ?? {},
          subject: subject.digest,
          policy: policyOf(a),
        });
      case 'notation-jws':
      case 'notation-cose':
        if (a.kind !== 'notation') {
          return { status: 'failed', reason: 'unsupported', message: 'not a notation authority' };
        }
        return verifyNotationEnvelope({
          envelope: blob,
          envelopeMediaType: task.layer.mediaType,
          subject: subject.descriptor ?? { digest: subject.digest, mediaType: '', size: -1 },
          trust: {
            trustStore: a.trustStore,
            trustedIdentities: a.trustedIdentities,
            ...(a.tsaTrustStore ? { tsaTrustStore: a.tsaTrustStore } : {}),
            ...(a.verifyTimestamp ? { verifyTimestamp: a.verifyTimestamp } : {}),
          },
        });
      case 'in-toto':
      case 'sbom':
      case 'vulnerability':
        return {
          status: 'failed',
          reason: 'unsupported',
          message: `a ${task.action} layer carries no signature`,
        };
    }
  }
}

/** Sigstore and cosign signatures are vouched for by keyless and key authorities, notation by notation ones. */
function authorityKinds(task: LayerTask): Authority['kind'][] {
  switch (task.action) {
    case 'notation-jws':
    case 'notation-cose':
      return ['notation'];
    case 'sigstore-bundle':
    case 'cosign-simplesigning':
    case 'cosign-dsse':
      return ['keyless', 'key'];
    case 'in-toto':
    case 'sbom':
    case 'vulnerability':
      return [];
  }
}

function policyOf(a: Authority) {
  return a.kind === 'notation' ? undefined : a.policy;
}
