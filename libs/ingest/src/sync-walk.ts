import { classify, parseManifest, type ParsedManifest } from '#oci';
import type {
  GraphRepository,
  GroupCommit,
  ManifestContent,
  PushInput,
  PushOutcome,
  RegistryRepository,
  SyncRepository,
  TrustRepository,
} from '#store';
import type { ReferrersListing } from '#registry';
import type { RegistrySource } from './catalog.js';
import { TaskPool, type RequestLimiter } from './sync-limiter.js';
import { isItemError, isNotFound, recordError, recordWrite, type SyncSummary } from './sync-summary.js';

/**
 * Whether to ask the registry's referrers API. A registry remembered as having it is asked
 * directly; otherwise the first answer of the run decides (so an upgraded registry is noticed),
 * and the answer is remembered on the registry row. While that first question is unanswered, the
 * other subjects wait for its answer instead of asking too, so a registry without the API is asked
 * once per run.
 */
export class ReferrersProbe {
  private mode: 'unknown' | 'api' | 'tags';
  /** Set while the deciding question is in flight; settles once it is answered or has failed. */
  private deciding: Promise<void> | null = null;
  private decided: (() => void) | null = null;

  constructor(
    private readonly registryId: number,
    stored: boolean | null,
    private readonly registries: RegistryRepository,
    private readonly summary: SyncSummary,
  ) {
    this.mode = stored === true ? 'api' : 'unknown';
    summary.referrersApi = stored;
  }

  /** False once the run knows the registry has no API: no subject needs to be asked. */
  get wanted(): boolean {
    return this.mode !== 'tags';
  }

  /**
   * Whether to ask about one subject now. A caller answered true while the mode is unknown is
   * the one deciding: it must call `learn` with the answer, or `release` when asking failed.
   */
  async admit(): Promise<boolean> {
    while (this.mode === 'unknown' && this.deciding) await this.deciding;
    if (this.mode !== 'unknown') return this.mode === 'api';
    this.deciding = new Promise<void>((resolve) => (this.decided = resolve));
    return true;
  }

  async learn(supported: boolean): Promise<void> {
    try {
      const mode = supported ? 'api' : 'tags';
      if (this.mode === mode) return;
      this.mode = mode;
      if (this.summary.referrersApi !== supported)
        await this.registries.setReferrersApi(this.registryId, supported);
      this.summary.referrersApi = supported;
    } finally {
      this.release();
    }
  }

  /** The deciding question got no answer: the next subject asks. */
  release(): void {
    const decided = this.decided;
    this.deciding = null;
    this.decided = null;
    decided?.();
  }
}

export interface WalkContext {
  registryId: number;
  source: RegistrySource;
  limiter: RequestLimiter;
  graph: GraphRepository;
  registries: RegistryRepository;
  /** The graph's view of a repository: which tags it already holds. */
  sync: Pick<SyncRepository, 'liveTags'>;
  /** Graph writes of the whole run, batched across its walks (applyPushes). */
  pushes: GroupCommit<PushInput, PushOutcome>;
  /** While more pushes than this wait for their batch, a visit waits for its own write. */
  maxPendingPushes: number;
  /** Verification queued with each write (as webhook processing does); none without it. */
  trust?: Pick<TrustRepository, 'verifyJobs'>;
  probe: ReferrersProbe;
  summary: SyncSummary;
  width: number;
  signal?: AbortSignal;
  /** Called after every manifest written, for progress display. */
  onManifest?: () => void;
}

export interface WalkResult {
  /** False when the tag list could not be read: nothing seen can be trusted to be complete. */
  listed: boolean;
  /** Tags the registry confirmed (listed, then resolved). */
  tags: Set<string>;
  /** Digests the registry confirmed present. */
  present: Set<string>;
}

type Content = { bytes: Buffer; mediaType: string };
type Fetched = Content & { digest: string };

/**
 * Walks one repository the way its webhooks would have described it: every tag, every manifest
 * a tag reaches, index children recursively, and referrers (API, tag schema, cosign tags — the
 * latter two are tags, so the tag list covers them). Every write carries the time just before
 * the request that observed the state it writes, never the time of writing, so a webhook event
 * about the same row that happened after the observation always wins.
 *
 * A repository of which the graph holds no tag yet (a first sync) is read with one GET per tag,
 * its digest computed from the body, since its content is most likely not stored either; so are
 * the digests its manifests lead to (index children, referrers), without asking the graph first.
 * In a repository the graph holds tags of, most tags are expected unchanged, so each is resolved
 * with HEAD first and its content loaded from the graph, and only a digest not stored yet is
 * fetched; digests reached otherwise are likewise fetched only when not stored.
 */
export class RepositoryWalk {
  private readonly tags = new Set<string>();
  private readonly present = new Set<string>();
  private readonly claimed = new Set<string>();
  private readonly expanded = new Set<string>();
  private readonly pool: TaskPool;
  private repositoryIdPromise?: Promise<number>;
  /** No tag of the repository stored yet: its content is fetched without looking in the graph. */
  private firstSync = false;

  constructor(
    private readonly ctx: WalkContext,
    private readonly repository: string,
  ) {
    this.pool = new TaskPool(ctx.width, ctx.signal);
  }

  async run(): Promise<WalkResult> {
    let names: string[];
    let byTag: boolean;
    try {
      [names, byTag] = await Promise.all([
        this.ctx.limiter.call(() => collect(this.ctx.source.listTags(this.repository))),
        this.ctx.sync.liveTags(this.ctx.registryId, this.repository).then((known) => known.length === 0),
      ]);
    } catch (err) {
      // A repository that no longer exists has no tags; its stored content is then checked one by one.
      if (isNotFound(err)) [names, byTag] = [[], false];
      else if (isItemError(err)) {
        recordError(this.ctx.summary, err, this.repository);
        return { listed: false, tags: this.tags, present: this.present };
      } else throw err;
    }
    this.firstSync = byTag;
    const visit = byTag ? (tag: string) => this.fetchTag(tag) : (tag: string) => this.visitTag(tag);
    for (const tag of names) this.pool.add(() => this.guard(tag, () => visit(tag)));
    await this.pool.run();
    return { listed: true, tags: this.tags, present: this.present };
  }

  /** HEAD first: the content of a digest already stored is not fetched. */
  private async visitTag(tag: string): Promise<void> {
    const at = new Date();
    const digest = await this.ctx.limiter.call(() => this.ctx.source.resolveTag(this.repository, tag));
    if (digest === null) return;
    this.tags.add(tag);
    this.ctx.summary.tags++;
    const content = await this.load(digest);
    if (content) await this.write(digest, content, at, tag);
  }

  /** One GET by tag: the client computes the digest from the body (and checks the registry's). */
  private async fetchTag(tag: string): Promise<void> {
    const at = new Date();
    const fetched = await this.fetch(tag);
    if (fetched === null) return;
    this.tags.add(tag);
    this.ctx.summary.tags++;
    this.claimed.add(fetched.digest);
    await this.write(fetched.digest, fetched, at, tag);
  }

  /**
   * A digest an index lists: present only if the registry still has it. `known` is its stored
   * content, looked up with its siblings when the index was expanded (null: not stored).
   */
  private async visitChild(digest: string, known: ManifestContent | null): Promise<void> {
    const at = new Date();
    if (known) {
      this.ctx.summary.manifestsSkipped++;
      const exists = await this.ctx.limiter.call(() =>
        this.ctx.source.manifestExists(this.repository, digest),
      );
      if (exists) await this.write(digest, known, at);
      return;
    }
    const fetched = await this.fetch(digest);
    if (fetched) await this.write(digest, fetched, at);
  }

  /** A digest the referrers API listed at `listedAt`: the listing itself observed its presence. */
  private async visitListed(digest: string, listedAt: Date): Promise<void> {
    if (this.claimed.has(digest) || this.present.has(digest)) return;
    this.claimed.add(digest);
    const content = await this.load(digest);
    if (content) await this.write(digest, content, listedAt);
  }

  private async visitReferrers(subject: string): Promise<void> {
    if (!(await this.ctx.probe.admit())) return;
    const at = new Date();
    let listing: ReferrersListing;
    try {
      listing = await this.ctx.limiter.call(() => this.ctx.source.listReferrers(this.repository, subject));
    } catch (err) {
      this.ctx.probe.release();
      throw err;
    }
    await this.ctx.probe.learn(listing.supported);
    for (const d of listing.descriptors) {
      this.pool.add(() => this.guard(d.digest, () => this.visitListed(d.digest, at)));
    }
  }

  /** Stored bytes when the digest is known (content is immutable), else fetched; null when gone. */
  private async load(digest: string): Promise<Content | null> {
    if (this.firstSync) return this.fetch(digest);
    const known = await this.ctx.graph.findManifest(digest);
    if (known) {
      this.ctx.summary.manifestsSkipped++;
      return known;
    }
    return this.fetch(digest);
  }

  /** A manifest by digest or tag, with the digest of its bytes; null when the registry has none. */
  private async fetch(reference: string): Promise<Fetched | null> {
    try {
      const fetched = await this.ctx.limiter.call(() =>
        this.ctx.source.fetchManifest(this.repository, reference),
      );
      this.ctx.summary.manifestsFetched++;
      return fetched;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Stores one manifest and walks on from it. The visit does not wait for the write: what the
   * manifest leads to comes from its bytes, so its children and referrers are visited, and the
   * visit's place goes to the next request, while the write waits for its batch (more writes then
   * share each statement and commit). The walk ends only once its writes have settled, and a
   * failed one fails the walk. When the database falls behind, visits wait for their writes again,
   * so the pushes held in memory stay bounded.
   */
  private async write(digest: string, content: Content, eventAt: Date, tag?: string): Promise<void> {
    this.present.add(digest);
    const manifest = parseManifest(content.bytes, digest, content.mediaType);
    const written = this.ctx.pushes
      .submit({
        repositoryId: await this.repositoryId(),
        manifest,
        kind: classify(manifest),
        bytes: content.bytes,
        ...(tag === undefined ? {} : { tag }),
        eventAt,
        ...(this.ctx.trust ? { verify: this.ctx.trust.verifyJobs } : {}),
      })
      .then((res) => {
        recordWrite(this.ctx.summary, res);
        if (res.applied) this.ctx.summary.manifestsWritten++;
        this.ctx.onManifest?.();
      });
    this.pool.track(written);
    await this.expand(manifest);
    // The pool reports a failed write; here it only paces the visit.
    if (this.ctx.pushes.backlog > this.ctx.maxPendingPushes) await written.catch(() => undefined);
  }

  /**
   * Queues what a manifest leads to. Outside a first sync, the stored content of all its children
   * is read in one query.
   */
  private async expand(m: ParsedManifest): Promise<void> {
    if (this.expanded.has(m.digest)) return;
    this.expanded.add(m.digest);
    if (this.ctx.probe.wanted) this.pool.add(() => this.guard(m.digest, () => this.visitReferrers(m.digest)));
    const children = [...new Set(m.manifests.map((c) => c.digest))].filter(
      (d) => !this.claimed.has(d) && !this.present.has(d),
    );
    if (children.length === 0) return;
    for (const d of children) this.claimed.add(d);
    const known = this.firstSync
      ? new Map<string, ManifestContent>()
      : await this.ctx.graph.findManifests(children);
    for (const d of children)
      this.pool.add(() => this.guard(d, () => this.visitChild(d, known.get(d) ?? null)));
  }

  private repositoryId(): Promise<number> {
    this.repositoryIdPromise ??= this.ctx.registries.ensureRepository(this.ctx.registryId, this.repository);
    return this.repositoryIdPromise;
  }

  private async guard(reference: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!isItemError(err)) throw err;
      recordError(this.ctx.summary, err, this.repository, reference);
    }
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
