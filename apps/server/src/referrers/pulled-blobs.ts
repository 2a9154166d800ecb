/** Links the blobs of manifests the view pulled through from a registry, before ingestion does. */
import { blobDigests, Lru, parseManifest } from '#oci';
import type { GraphRepository, RegistryRepository } from '#store';
import type { Logger } from 'pino';
import type { ViewMetrics } from './view.metrics.js';

/** A manifest linked once is not linked again by this process for this long (links are add-only). */
const LINKED_MS = 10 * 60_000;
const LINKED_ENTRIES = 10_000;
/** How long the answer waits for the links; a slower write goes on without holding the client. */
const LINK_WAIT_MS = 2_000;

export interface PulledBlobsDeps {
  registries: Pick<RegistryRepository, 'ensureRepository'>;
  graph: Pick<GraphRepository, 'linkBlobs'>;
  metrics: ViewMetrics;
  logger: Logger;
}

/**
 * The links are written to the database (repository_blob, as ingestion writes them) before the
 * manifest is answered, so a client's next request, for a blob the manifest names, finds them on
 * whichever api replica it reaches. They are links of the repository the registry served the
 * manifest from: the blob view still serves a blob only in a repository the caller may read.
 */
export class PulledBlobs {
  private readonly linked: Lru<true>;

  constructor(
    private readonly d: PulledBlobsDeps,
    now: () => number = Date.now,
    private readonly linkWaitMs = LINK_WAIT_MS,
  ) {
    this.linked = new Lru(LINKED_ENTRIES, now);
  }

  /**
   * Links the blobs a manifest served from `registry/repository` names; bytes that do not parse
   * name none. A failed write is logged and counted, not thrown: the manifest is still good, and
   * ingestion links its blobs when it runs.
   */
  async record(
    registry: { id: number; name: string },
    repository: string,
    manifest: { digest: string; mediaType: string; bytes: Buffer },
  ): Promise<void> {
    const k = `${registry.name}/${repository}@${manifest.digest}`;
    if (this.linked.get(k, LINKED_MS)) return;
    let digests: string[];
    try {
      digests = blobDigests(parseManifest(manifest.bytes, manifest.digest, manifest.mediaType));
    } catch {
      return;
    }
    if (digests.length === 0) return;
    const write = (async () => {
      try {
        const repositoryId = await this.d.registries.ensureRepository(registry.id, repository);
        await this.d.graph.linkBlobs(repositoryId, digests);
        this.linked.set(k, true);
      } catch (err) {
        this.d.metrics.pullThrough.inc({ registry: registry.name, outcome: 'link_failed' });
        this.d.logger.warn(
          { err, registry: registry.name, digest: manifest.digest },
          'registry view: could not link the blobs of a pulled-through manifest',
        );
      }
    })();
    // A database that hangs (or a row lock held by an ingestion of the same manifest) must not
    // stall the manifest answer: past the wait the write finishes, or fails, on its own.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.linkWaitMs);
      timer.unref();
    });
    await Promise.race([write, waited]).finally(() => clearTimeout(timer));
  }
}
