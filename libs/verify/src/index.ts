export { isSha256Digest, type ArtifactInput } from './artifact.js';
export type { IdentityPolicy, KeyPolicy, VerificationPolicy } from './policy.js';
export {
  FAILURE_REASONS,
  VerificationFailure,
  type FailureReason,
  type SignerFacts,
  type VerificationResult,
} from './result.js';
export { TrustRoot, loadTrustRoot, type TrustRootSource } from './trust-root.js';
export { BundleVerifier, type VerifyRequest } from './verifier.js';
export {
  summarizeStatement,
  SLSA_PROVENANCE_V02,
  SLSA_PROVENANCE_V1,
  type AttestationSummary,
} from './attestation.js';
export { CosignLegacyVerifier, type CosignLayer } from './cosign/legacy.js';
export {
  DocumentError,
  IN_TOTO_PAYLOAD_TYPE,
  parseDsseEnvelope,
  parseJsonDocument,
  parseStatement,
  statementFromJson,
  statementNames,
  type DsseEnvelope,
  type InTotoStatement,
} from './intoto.js';
export { maxLayerBytes, planLayers, type LayerAction, type LayerTask } from './plan.js';
export {
  isSbomPredicateType,
  MAX_SBOM_PACKAGES,
  parseSbom,
  type ParsedSbom,
  type SbomPackage,
} from './sbom.js';
export { TrustPolicy, VERIFIER_REVISION, type Authority, type TrustRule } from './trust-policy.js';
export { decide, type DecidedResult, type Decision } from './decide.js';
export { LayerVerifier, type LayerSubject } from './layer-verifier.js';
export { signatureKindOf, type SignatureKind } from './signature-kind.js';
export { normalisePurl, purlBase, type NormalisedPurl } from './purl.js';
export { verifyNotationEnvelope, type NotationInput, type NotationTrust } from './notation/index.js';
export {
  COSIGN_VULN_PREDICATE,
  imageDigest,
  isVulnerabilityPredicateType,
  MAX_FINDINGS,
  MAX_VEX_STATEMENTS,
  parseVulnerabilityDocument,
  VEX_STATUSES,
  type Finding,
  type ParsedReport,
  type ParsedVex,
  type ParsedVulnerabilityDocument,
  type VexProduct,
  type VexStatement,
  type VexStatus,
} from './vulnerability/index.js';
export { CurrentTrust, type TrustChangeListener } from './current-trust.js';
export {
  TrustRootRefresher,
  initialTrustPolicy,
  type RefreshEvents,
  type RefreshLog,
  type RefreshOutcome,
  type RefresherOptions,
} from './tuf/refresher.js';
export { TufTrustedRootSource, type TrustedRootSource, type TufSourceOptions } from './tuf/tuf-source.js';
