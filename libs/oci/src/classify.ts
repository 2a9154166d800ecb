import type { ArtifactKind, ParsedManifest } from './manifest.js';
import {
  isAttestationType,
  isJsonType,
  isSbomType,
  isSignatureType,
  isSigstoreBundleType,
  isVulnerabilityType,
  MediaType,
} from './media-types.js';

/** cosign v3 and GitHub attestations name the predicate of a bundle that carries a DSSE statement. */
const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** cosign v3 signs an image with a DSSE statement of this predicate: a signature, not an attestation. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/**
 * What an artifact is, from its own content only. Order matters: an explicit artifactType wins, then
 * what the layers carry (cosign puts an image config on signature manifests), then image config.
 */
export function classify(m: ParsedManifest): ArtifactKind {
  if (m.isIndex) return m.artifactType ? (kindOfType(m.artifactType) ?? 'artifact') : 'index';

  const explicit = m.artifactType && m.artifactType !== m.config?.mediaType ? m.artifactType : null;
  if (explicit) {
    if (isSigstoreBundleType(explicit)) {
      const predicate = m.annotations[BUNDLE_PREDICATE_ANNOTATION];
      return predicate && predicate !== COSIGN_SIGN_PREDICATE ? 'attestation' : 'signature';
    }
    // A referrer typed only `application/json` may be a vulnerability report or VEX: its content decides.
    if (isJsonType(explicit) && m.subject) return 'vulnerability';
    return kindOfType(explicit) ?? 'artifact';
  }

  const configKind = m.config ? kindOfType(m.config.mediaType) : null;
  if (configKind) return configKind;

  const layerTypes = m.layers.map((l) => l.mediaType);
  if (layerTypes.length > 0) {
    if (layerTypes.some((t) => t === MediaType.CosignSimpleSigning)) return 'signature';
    if (layerTypes.every((t) => isAttestationType(t))) return 'attestation';
    if (layerTypes.every((t) => isSbomType(t))) return 'sbom';
    if (layerTypes.every((t) => isVulnerabilityType(t))) return 'vulnerability';
    if (layerTypes.every((t) => isSigstoreBundleType(t))) return 'signature';
  }
  if (m.config?.mediaType === MediaType.OciConfig || m.config?.mediaType === MediaType.DockerConfig)
    return 'image';
  return 'artifact';
}

function kindOfType(type: string): ArtifactKind | null {
  if (isSignatureType(type) || isSigstoreBundleType(type)) return 'signature';
  if (isAttestationType(type)) return 'attestation';
  if (isSbomType(type)) return 'sbom';
  if (isVulnerabilityType(type)) return 'vulnerability';
  return null;
}
