/**
 * manifests/<reference> of the registry view: stored bytes when refgraph records the digest
 * present in the repository; otherwise the registry's own answer, digest-checked, served and
 * queued for ingestion (pull-through); the legacy referrer tags synthesised from the graph.
 */
import type { RegistryViewConfig } from '#config';
import type { RegistryCatalog } from '#ingest';
import { InvalidDigestError, Lru, parseDigest, parseTagSubject } from '#oci';
import { isTag } from '#registry';
import type { InboxRepository, RegistryViewRepository } from '#store';
import type { Logger } from 'pino';
import { LegacyTags } from './legacy-tags.js';
import { decideViewAccess, type Viewer } from '#answers';
import { ViewError, viewDenied } from './view-errors.js';
import type { PulledBlobs } from './pulled-blobs.js';
import type { ViewMetrics } from './view.metrics.js';

export interface ServedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

interface Where {
  viewer: Viewer;
  registry: string;
  repository: string;
}

export interface ManifestViewDeps {
  view: RegistryViewRepository;
  legacy: LegacyTags;
  catalog: RegistryCatalog;
  inbox: InboxRepository;
  metrics: ViewMetrics;
  /** Links the blobs of pulled-through manifests, for the blob view of any replica to serve. */
  pulled: PulledBlobs;
  config: RegistryViewConfig;
  logger: Logger;
  now?: () => number;
}

const SYNTHESISED_ENTRIES = 256;
const SYNTHESISED_MAX_BYTES = 256 * 1024;
/** Pull-through events are queued once per repository, digest and tag per this interval. */
const REQUEUE_MS = 10 * 60_000;

export class ManifestView {
  /** Tags confirmed at the registry (digest, or null: no such tag), reused within the freshness bound. */
  private readonly confirmed: Lru<string | null>;
  /**
   * Synthesised manifests by digest, so clients that resolve a tag and then fetch its digest find
   * it. Bounded in bytes: at most SYNTHESISED_ENTRIES of at most SYNTHESISED_MAX_BYTES each.
   */
  private readonly synthesised = new Lru<ServedManifest>(SYNTHESISED_ENTRIES);
  private readonly queued: Lru<true>;
  private readonly now: () => number;

  constructor(private readonly d: ManifestViewDeps) {
    this.now = d.now ?? Date.now;
    this.confirmed = new Lru(10_000, this.now);
    this.queued = new Lru(10_000, this.now);
  }

  async get(w: Where, reference: string): Promise<ServedManifest> {
    if (decideViewAccess(w.viewer, w.registry, w.repository) === 'denied') throw denied(w);
    if (reference.includes(':')) {
      let digest: string;
      try {
        digest = parseDigest(reference);
      } catch (err) {
        if (err instanceof InvalidDigestError) throw new ViewError(400, 'DIGEST_INVALID', err.message);
        throw err;
      }
      return this.byDigest(w, digest);
    }
    if (!isTag(reference))
      throw new ViewError(400, 'MANIFEST_INVALID', `invalid tag ${JSON.stringify(reference.slice(0, 140))}`);
    return this.byTag(w, reference);
  }

  private async byDigest(w: Where, digest: string, tag?: string): Promise<ServedManifest> {
    const stored = await this.d.view.findManifest(w.registry, w.repository, digest);
    const access = decideViewAccess(w.viewer, w.registry, w.repository, stored);
    if (access === 'denied') throw denied(w);
    if (access === 'stored') return stored!;
    const synthesised = this.synthesised.get(key(w, digest));
    if (synthesised) return synthesised;
    const fetched = await this.d.metrics.time(w.registry, 'manifest', () =>
      this.entry(w).client.fetchManifest(w.repository, digest),
    );
    // Linked before it is answered: the client's next request, for one of its blobs, may reach
    // another replica.
    await this.d.pulled.record({ id: this.entry(w).id, name: w.registry }, w.repository, fetched);
    await this.queue(w, fetched.digest, fetched.mediaType, tag);
    return fetched;
  }

  /**
   * Tag freshness: refgraph's record (kept current by webhooks and reconcile) is used while it was
   * written less than tagMaxAgeSeconds ago; an older record, or none, is confirmed at the registry
   * (one HEAD), and that answer is reused for the same bound. A registry that cannot be asked fails
   * the request (503): a tag is never answered from a record refgraph cannot confirm.
   */
  private async byTag(w: Where, tag: string): Promise<ServedManifest> {
    const boundMs = this.d.config.tagMaxAgeSeconds * 1000;
    const record = await this.d.view.findTag(w.registry, w.repository, tag);
    let digest: string | null | undefined;
    if (record && this.now() - record.recordedAt.getTime() < boundMs) digest = record.digest;
    else digest = this.confirmed.get(key(w, tag), boundMs);
    if (digest === undefined) {
      digest = await this.d.metrics.time(w.registry, 'tag', () =>
        this.entry(w).client.resolveTag(w.repository, tag),
      );
      this.confirmed.set(key(w, tag), digest);
    }
    if (digest !== null) return this.byDigest(w, digest, record?.digest === digest ? undefined : tag);
    const subject = parseTagSubject(tag);
    if (subject) {
      const made = await this.d.legacy.synthesise(w.registry, w.repository, subject);
      if (made) {
        if (made.bytes.length <= SYNTHESISED_MAX_BYTES) this.synthesised.set(key(w, made.digest), made);
        return made;
      }
    }
    throw new ViewError(404, 'MANIFEST_UNKNOWN', `no tag ${tag} in ${w.registry}/${w.repository}`);
  }

  /** Queues ingestion of a manifest served before refgraph had it, through the webhook inbox. */
  private async queue(w: Where, digest: string, mediaType: string, tag?: string): Promise<void> {
    const k = `${key(w, digest)}:${tag ?? ''}`;
    if (this.queued.get(k, REQUEUE_MS)) return;
    this.queued.set(k, true);
    const bucket = Math.floor(this.now() / REQUEUE_MS);
    try {
      await this.d.inbox.record(this.entry(w).id, [
        {
          action: 'push',
          repository: w.repository,
          digest,
          mediaType,
          ...(tag ? { tag } : {}),
          senderEventId: `refgraph-pull-through:${w.repository}@${digest}:${tag ?? ''}:${bucket}`,
        },
      ]);
      this.d.metrics.pullThrough.inc({ registry: w.registry, outcome: 'queued' });
    } catch (err) {
      // Serving does not depend on it: webhooks and reconcile still bring the digest in.
      this.d.metrics.pullThrough.inc({ registry: w.registry, outcome: 'failed' });
      this.d.logger.warn(
        { err, registry: w.registry, digest },
        'registry view: could not queue pull-through ingestion',
      );
    }
  }

  private entry(w: Where) {
    const e = this.d.catalog.byName(w.registry);
    if (!e) throw new ViewError(404, 'NAME_UNKNOWN', `no registry named "${w.registry}" is configured`);
    return e;
  }
}

function key(w: Where, ref: string): string {
  return `${w.registry}/${w.repository}@${ref}`;
}

function denied(w: Where): ViewError {
  return viewDenied(w.registry, w.repository);
}
