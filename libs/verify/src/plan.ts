import {
  isJsonType,
  isSbomType,
  isSigstoreBundleType,
  isVulnerabilityType,
  MediaType,
  type Descriptor,
  type ParsedManifest,
} from '#oci';

/** What to do with one layer of a signature, attestation or SBOM artifact. */
export type LayerAction =
  /** A Sigstore bundle (v0.1–v0.3): message signature or DSSE. */
  | 'sigstore-bundle'
  /** cosign `.sig`: simplesigning payload, signature and certificate in annotations. */
  | 'cosign-simplesigning'
  /** cosign `.att`: DSSE envelope, certificate and log entry in annotations. */
  | 'cosign-dsse'
  /** An unsigned in-toto statement (BuildKit attestation manifests). */
  | 'in-toto'
  /** An SBOM document (SPDX or CycloneDX JSON). */
  | 'sbom'
  /** A vulnerability report or VEX document (unsigned: only its content is read). */
  | 'vulnerability'
  /** notation: JWS envelope. */
  | 'notation-jws'
  /** notation: COSE envelope. */
  | 'notation-cose';

export interface LayerTask {
  layer: Descriptor;
  action: LayerAction;
  /**
   * Stored as the row's layer key: the layer digest, or `<digest>#<n>` for its n-th repetition
   * (cosign appends a layer per signature, and two signatures over one payload share a digest).
   */
  key: string;
}

const JWS = 'application/jose+json';
const COSE = 'application/cose';

/** The layers worth reading, and how; layers of other types (configs, image layers) are skipped. */
export function planLayers(m: ParsedManifest): LayerTask[] {
  const notation = m.artifactType === MediaType.NotationSignature;
  // Plain JSON layers are read as vulnerability documents only in a referrer typed as one (or as
  // plain JSON itself); elsewhere they are configs or payloads of other tools.
  const vulnerabilityReferrer =
    isVulnerabilityType(m.artifactType) || (isJsonType(m.artifactType) && m.subject !== null);
  const tasks: LayerTask[] = [];
  const seen = new Map<string, number>();
  for (const layer of m.layers) {
    const action =
      layerAction(layer.mediaType, notation) ??
      (vulnerabilityReferrer && isJsonType(layer.mediaType) ? 'vulnerability' : null);
    if (!action) continue;
    const n = seen.get(layer.digest) ?? 0;
    seen.set(layer.digest, n + 1);
    tasks.push({ layer, action, key: n === 0 ? layer.digest : `${layer.digest}#${n}` });
  }
  return tasks;
}

function layerAction(mediaType: string, notation: boolean): LayerAction | null {
  if (notation) {
    if (mediaType === JWS) return 'notation-jws';
    if (mediaType === COSE) return 'notation-cose';
    return null;
  }
  if (isSigstoreBundleType(mediaType)) return 'sigstore-bundle';
  if (mediaType === MediaType.CosignSimpleSigning) return 'cosign-simplesigning';
  if (mediaType === MediaType.Dsse) return 'cosign-dsse';
  if (mediaType === MediaType.InToto) return 'in-toto';
  // XML and tag-value SBOMs are recognised as SBOMs by the graph but only JSON is parsed.
  if (
    isSbomType(mediaType) &&
    !/xml|^text\/spdx$|^application\/vnd\.cyclonedx$/.test(mediaType.split(';')[0]!)
  ) {
    return 'sbom';
  }
  if (isVulnerabilityType(mediaType)) return 'vulnerability';
  return null;
}

/** Generous caps per layer kind: signatures are small, SBOMs can be large. */
export function maxLayerBytes(action: LayerAction): number {
  switch (action) {
    case 'sbom':
    case 'in-toto':
    case 'cosign-dsse':
    case 'vulnerability':
      return 32 * 1024 * 1024;
    case 'sigstore-bundle':
      return 16 * 1024 * 1024;
    case 'cosign-simplesigning':
    case 'notation-jws':
    case 'notation-cose':
      return 1024 * 1024;
  }
}
