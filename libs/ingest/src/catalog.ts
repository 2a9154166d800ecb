import type { RegistryConfig } from '#config';
import type { ReferrersListing } from '#registry';

/** What ingestion needs from a registry: content by digest, and tags resolved to digests. */
export interface ManifestSource {
  fetchManifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; size: number; bytes: Buffer }>;
  resolveTag(repository: string, tag: string): Promise<string | null>;
}

/** What backfill and reconcile need besides: listings, existence checks and the referrers API. */
export interface RegistrySource extends ManifestSource {
  manifestExists(repository: string, digest: string): Promise<boolean>;
  listRepositories(): AsyncIterable<string>;
  listTags(repository: string): AsyncIterable<string>;
  listReferrers(repository: string, digest: string): Promise<ReferrersListing>;
}

export interface CatalogEntry {
  id: number;
  config: RegistryConfig;
  client: RegistrySource;
}

/** The configured registries: the only places refgraph fetches from, by id and by name. */
export class RegistryCatalog {
  private readonly ids = new Map<number, CatalogEntry>();
  private readonly names = new Map<string, CatalogEntry>();

  constructor(entries: CatalogEntry[]) {
    for (const e of entries) {
      this.ids.set(e.id, e);
      this.names.set(e.config.name, e);
    }
  }

  byId(id: number): CatalogEntry | undefined {
    return this.ids.get(id);
  }

  byName(name: string): CatalogEntry | undefined {
    return this.names.get(name);
  }

  all(): CatalogEntry[] {
    return [...this.ids.values()];
  }
}
