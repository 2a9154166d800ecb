export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  CosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  Dsse: 'application/vnd.dsse.envelope.v1+json',
  InToto: 'application/vnd.in-toto+json',
  SigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  NotationSignature: 'application/vnd.cncf.notary.signature',
  DockerAttestationManifest: 'application/vnd.docker.attestation.manifest.v1+json',
} as const;

export const MANIFEST_MEDIA_TYPES = [MediaType.OciManifest, MediaType.DockerManifest] as const;
export const INDEX_MEDIA_TYPES = [MediaType.OciIndex, MediaType.DockerManifestList] as const;

export function isIndexMediaType(mediaType: string): boolean {
  return (INDEX_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

export function isManifestMediaType(mediaType: string): boolean {
  return (MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

/** Sigstore bundle media types, old (`+json;version=0.x`) and new (`.v0.x+json`) forms. */
export function isSigstoreBundleType(type: string | null | undefined): boolean {
  return !!type && /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.\d+)?\+json(;version=0\.\d+)?$/.test(type);
}

const SBOM_TYPES = new Set([
  'application/spdx+json',
  'text/spdx+json',
  'text/spdx',
  'application/vnd.cyclonedx+json',
  'application/vnd.cyclonedx+xml',
  'application/vnd.cyclonedx',
  'application/vnd.syft+json',
  'application/vnd.dev.cosign.artifact.sbom.v1+json',
  'application/vnd.example.sbom.v1',
]);

export function isSbomType(type: string | null | undefined): boolean {
  if (!type) return false;
  const base = type.split(';', 1)[0]!.trim();
  return SBOM_TYPES.has(base) || /spdx|cyclonedx/i.test(base);
}

export function isAttestationType(type: string | null | undefined): boolean {
  return (
    type === MediaType.InToto ||
    type === MediaType.Dsse ||
    type === MediaType.DockerAttestationManifest ||
    type === 'application/vnd.dev.cosign.artifact.att.v1+json'
  );
}

export function isSignatureType(type: string | null | undefined): boolean {
  return (
    type === MediaType.NotationSignature ||
    type === MediaType.CosignSimpleSigning ||
    type === 'application/vnd.dev.cosign.artifact.sig.v1+json'
  );
}

/**
 * Media types of vulnerability reports and VEX documents attached as referrers: OpenVEX (both
 * spellings in use), CSAF, Trivy's report type. `application/json` also carries them (Trivy's
 * referrer plugin pushes cosign vuln predicates with it) but says nothing by itself; see
 * isJsonReferrerType.
 */
const VULNERABILITY_TYPES = new Set([
  'application/vnd.openvex+json',
  'application/openvex+json',
  'application/csaf+json',
  'application/vnd.aquasec.trivy.report+json',
]);

export function isVulnerabilityType(type: string | null | undefined): boolean {
  return !!type && VULNERABILITY_TYPES.has(type.split(';', 1)[0]!.trim());
}

/** Plain JSON: read as a vulnerability document only from a referrer that declares nothing more specific. */
export function isJsonType(type: string | null | undefined): boolean {
  return !!type && type.split(';', 1)[0]!.trim() === 'application/json';
}
