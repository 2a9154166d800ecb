import { classify, ManifestError, parseManifest } from '#oci';
import type {
  GraphRepository,
  InboxRepository,
  RegistryRepository,
  StoredEvent,
  TrustRepository,
} from '#store';
import type { CatalogEntry, RegistryCatalog } from './catalog.js';
import type { Metrics } from './metrics.js';

type Outcome = { status: 'done' | 'skipped'; note?: string };

interface ErrorWithCode {
  code?: unknown;
  retryable?: unknown;
}

/** Registry errors say whether trying again can help; content that fails parsing never will. */
function isPermanent(err: unknown): boolean {
  if (err instanceof ManifestError) return true;
  const e = err as ErrorWithCode;
  return typeof e?.retryable === 'boolean' ? !e.retryable : false;
}

function isNotFound(err: unknown): boolean {
  return (err as ErrorWithCode)?.code === 'not_found';
}

function describe(err: unknown): string {
  const e = err as ErrorWithCode & { message?: string };
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `${code}${e?.message ?? String(err)}`.slice(0, 2000);
}

/**
 * Turns one stored webhook event into graph writes. Safe to run any number of times: a finished
 * event is not touched again, and every write is idempotent and ordered by event time.
 */
export class EventProcessor {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly graph: GraphRepository,
    private readonly registries: RegistryRepository,
    private readonly catalog: RegistryCatalog,
    private readonly metrics: Metrics,
    /** Enqueues verification of signatures, attestations and SBOMs this push wrote or linked. */
    private readonly trust?: Pick<TrustRepository, 'enqueueForSource'>,
  ) {}

  /** Throws only when the attempt should be retried; final failures are recorded on the event. */
  async process(eventId: number, attempt: number, maxAttempts: number): Promise<void> {
    const ev = await this.inbox.find(eventId);
    if (!ev || ev.status !== 'pending') return;
    const entry = this.catalog.byId(ev.registryId);
    if (!entry) {
      await this.inbox.finish(ev.id, 'skipped', attempt, 'registry is no longer configured');
      this.metrics.jobsDone.inc({ outcome: 'skipped' });
      return;
    }
    try {
      const outcome = ev.action === 'push' ? await this.push(ev, entry) : await this.remove(ev, entry);
      await this.inbox.finish(ev.id, outcome.status, attempt, outcome.note);
      this.metrics.jobsDone.inc({ outcome: outcome.status });
    } catch (err) {
      const message = describe(err);
      if (isPermanent(err) || attempt >= maxAttempts) {
        await this.inbox.finish(ev.id, 'failed', attempt, message);
        this.metrics.jobsDone.inc({ outcome: 'failed' });
        return;
      }
      await this.inbox.recordAttempt(ev.id, attempt, message).catch(() => undefined);
      this.metrics.jobsRetried.inc();
      throw err;
    }
  }

  private async push(ev: StoredEvent, entry: CatalogEntry): Promise<Outcome> {
    const digest = ev.digest ?? (ev.tag ? await entry.client.resolveTag(ev.repository, ev.tag) : null);
    if (!digest) return { status: 'skipped', note: 'tag no longer exists in the registry' };

    let content = await this.graph.findManifest(digest);
    if (!content) {
      const started = process.hrtime.bigint();
      let outcome = 'ok';
      try {
        const fetched = await entry.client.fetchManifest(ev.repository, digest);
        content = { bytes: fetched.bytes, mediaType: fetched.mediaType };
      } catch (err) {
        outcome = (err as ErrorWithCode)?.code === undefined ? 'error' : String((err as ErrorWithCode).code);
        if (isNotFound(err)) return { status: 'skipped', note: 'manifest no longer in the registry' };
        throw err;
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.fetchSeconds.observe({ registry: entry.config.name, outcome }, seconds);
      }
    }
    const manifest = parseManifest(content.bytes, digest, content.mediaType);
    const repositoryId = await this.registries.ensureRepository(entry.id, ev.repository);
    const res = await this.graph.applyPush({
      repositoryId,
      manifest,
      kind: classify(manifest),
      bytes: content.bytes,
      tag: ev.tag ?? undefined,
      eventAt: ev.eventAt,
    });
    // Before the event is finished: a crash here retries the event, and the job key deduplicates.
    await this.trust?.enqueueForSource(repositoryId, manifest.digest);
    return res.applied
      ? { status: 'done' }
      : { status: 'done', note: 'stale: a newer event already applied' };
  }

  private async remove(ev: StoredEvent, entry: CatalogEntry): Promise<Outcome> {
    const repositoryId = await this.registries.ensureRepository(entry.id, ev.repository);
    if (ev.digest) {
      const res = await this.graph.applyDelete(repositoryId, ev.digest, ev.eventAt);
      return res.applied
        ? { status: 'done' }
        : { status: 'done', note: 'stale: a newer event already applied' };
    }
    if (ev.tag) {
      const res = await this.graph.applyTagDelete(repositoryId, ev.tag, ev.eventAt);
      return res.applied
        ? { status: 'done' }
        : { status: 'done', note: 'stale: a newer event already applied' };
    }
    return { status: 'skipped', note: 'delete event names neither digest nor tag' };
  }
}
