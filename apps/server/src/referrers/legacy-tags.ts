/**
 * Manifests for the tag names clients use when a registry lacks the referrers API: the referrers
 * tag schema (`sha256-<hex>`) and cosign's legacy tags (`sha256-<hex>.sig`, `.att`, `.sbom`),
 * built from the graph for registries that have no such tag.
 */
import { digestOf, isSbomType, MediaType, type TagSubject } from '#oci';
import type { ReferrersRepository, RegistryViewRepository, StoredReferrer } from '#store';

/** Referrers listed in one synthesised tag-schema index, and source manifests merged for cosign. */
const MAX_LISTED = 10_000;
const MAX_SOURCES = 100;

export interface SynthesisedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

const COSIGN: Record<
  'sig' | 'att' | 'sbom',
  { kind: 'signature' | 'attestation' | 'sbom'; layer: (t: string) => boolean }
> = {
  sig: { kind: 'signature', layer: (t) => t === MediaType.CosignSimpleSigning },
  att: { kind: 'attestation', layer: (t) => t === MediaType.Dsse },
  sbom: { kind: 'sbom', layer: (t) => isSbomType(t) },
};

interface LegacyManifest {
  mediaType?: string;
  config?: unknown;
  layers?: Array<{ mediaType?: string; digest?: string }>;
}

export class LegacyTags {
  constructor(
    private readonly view: RegistryViewRepository,
    private readonly referrers: ReferrersRepository,
  ) {}

  /** The manifest for a subject-naming tag, or null when the graph knows nothing to put in it. */
  async synthesise(
    registry: string,
    repository: string,
    tag: TagSubject,
  ): Promise<SynthesisedManifest | null> {
    return tag.suffix === null
      ? this.tagSchemaIndex(registry, repository, tag.subject)
      : this.cosignManifest(registry, repository, tag.subject, tag.suffix);
  }

  /**
   * An image index of every referrer the referrers API lists for the subject, as one document:
   * clients that read the tag schema (oras-go, regclient fallback) never page.
   */
  private async tagSchemaIndex(registry: string, repository: string, subject: string) {
    const manifests = await this.referrers.findReferrers({
      registry,
      repository,
      subject,
      limit: MAX_LISTED,
    });
    if (manifests.length === 0) return null;
    return built({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, MediaType.OciIndex);
  }

  /**
   * cosign reads a legacy tag's manifest layers: each layer's annotations carry the signature
   * (certificate, bundle) and its blob the signed payload, fetched from the same repository. So only
   * referrers in cosign's legacy layer format count, and their layers are copied exactly: every
   * blob they name is in the repository already. One such referrer is served as its own stored
   * bytes (identical to a real tag); several are merged into one manifest, as cosign itself appends
   * signatures as layers. Bundle-format (v0.3) signatures have no legacy form and are left out:
   * cosign finds those through the referrers API.
   */
  private async cosignManifest(
    registry: string,
    repository: string,
    subject: string,
    suffix: 'sig' | 'att' | 'sbom',
  ) {
    const rule = COSIGN[suffix];
    const stored = await this.view.findReferrerManifests(
      registry,
      repository,
      subject,
      rule.kind,
      MAX_SOURCES,
    );
    const sources = stored
      .map((s) => ({ s, m: parse(s) }))
      .filter(
        (x): x is { s: StoredReferrer; m: LegacyManifest } =>
          !!x.m?.layers?.length &&
          x.m.layers.every((l) => typeof l.mediaType === 'string' && rule.layer(l.mediaType)),
      );
    if (sources.length === 0) return null;
    if (sources.length === 1)
      return { digest: sources[0]!.s.digest, mediaType: sources[0]!.s.mediaType, bytes: sources[0]!.s.bytes };
    const first = sources[0]!;
    const same = sources.filter((x) => x.s.mediaType === first.s.mediaType);
    // A layer is one signature: the same payload signed twice differs in its annotations only.
    const seen = new Set<string>();
    const layers = same
      .flatMap((x) => x.m.layers!)
      .filter((l) => {
        const k = JSON.stringify(l);
        return !seen.has(k) && !!seen.add(k);
      });
    return built(
      { schemaVersion: 2, mediaType: first.s.mediaType, config: first.m.config, layers },
      first.s.mediaType,
    );
  }
}

function parse(s: StoredReferrer): LegacyManifest | null {
  try {
    const v = JSON.parse(s.bytes.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) && !('manifests' in v) ? v : null;
  } catch {
    return null;
  }
}

function built(doc: object, mediaType: string): SynthesisedManifest {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { digest: digestOf(bytes), mediaType, bytes };
}
