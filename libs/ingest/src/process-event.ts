import { classify, ManifestError, parseManifest } from '#oci';
import {
  GroupCommit,
  STALE_NOTE,
  type EventMark,
  type GraphRepository,
  type InboxRepository,
  type ManifestContent,
  type PushInput,
  type PushOutcome,
  type RegistryRepository,
  type StoredEvent,
  type TrustRepository,
} from '#store';
import type { CatalogEntry, RegistryCatalog } from './catalog.js';
import type { Metrics } from './metrics.js';
import { isRegistryBusy } from './registry-budget.js';

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
 *
 * An event's graph writes, the verification jobs they imply and its outcome commit together.
 * Pushes processed concurrently are written together (one statement, one commit for many), so a
 * busy worker does not pay a commit per event.
 */
export class EventProcessor {
  private readonly pushes: GroupCommit<PushInput, PushOutcome>;

  constructor(
    private readonly inbox: InboxRepository,
    private readonly graph: GraphRepository,
    private readonly registries: RegistryRepository,
    private readonly catalog: RegistryCatalog,
    private readonly metrics: Metrics,
    /** Verification of signatures, attestations and SBOMs a push stores or newly links. */
    private readonly trust?: Pick<TrustRepository, 'verifyJobs'>,
  ) {
    // Two batches in flight: one fills while the other commits, so an event rarely waits for a
    // whole batch ahead of it.
    this.pushes = new GroupCommit((inputs) => this.graph.applyPushes(inputs), { maxBatch: 64, lanes: 2 });
  }

  /** Throws only when the attempt should be retried; final failures are recorded on the event. */
  async process(eventId: number, attempt: number, maxAttempts: number): Promise<void> {
    const found = await this.inbox.findWithManifest(eventId);
    if (!found || found.event.status !== 'pending') return;
    const { event: ev, content } = found;
    const event: EventMark = { id: ev.id, attempts: attempt };
    const entry = this.catalog.byId(ev.registryId);
    if (!entry) {
      await this.finish(event, { status: 'skipped', note: 'registry is no longer configured' });
      return;
    }
    try {
      await (ev.action === 'push' ? this.push(ev, event, entry, content) : this.remove(ev, event, entry));
    } catch (err) {
      // Not an attempt: the task wrapper (deferWhenBusy) reschedules the job.
      if (isRegistryBusy(err)) throw err;
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

  /** `stored`: the manifest of the event's digest, when the graph held it as the event was read. */
  private async push(
    ev: StoredEvent,
    event: EventMark,
    entry: CatalogEntry,
    stored: ManifestContent | null,
  ): Promise<void> {
    const digest = ev.digest ?? (ev.tag ? await entry.client.resolveTag(ev.repository, ev.tag) : null);
    if (!digest)
      return this.finish(event, { status: 'skipped', note: 'tag no longer exists in the registry' });

    let content = ev.digest ? stored : await this.graph.findManifest(digest);
    if (!content) {
      const started = process.hrtime.bigint();
      let outcome = 'ok';
      try {
        const fetched = await entry.client.fetchManifest(ev.repository, digest);
        content = { bytes: fetched.bytes, mediaType: fetched.mediaType };
      } catch (err) {
        outcome = (err as ErrorWithCode)?.code === undefined ? 'error' : String((err as ErrorWithCode).code);
        if (isNotFound(err)) {
          return this.finish(event, { status: 'skipped', note: 'manifest no longer in the registry' });
        }
        throw err;
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.fetchSeconds.observe({ registry: entry.config.name, outcome }, seconds);
      }
    }
    const manifest = parseManifest(content.bytes, digest, content.mediaType);
    const repositoryId = await this.registries.ensureRepository(entry.id, ev.repository);
    const input: PushInput = {
      repositoryId,
      manifest,
      kind: classify(manifest),
      bytes: content.bytes,
      eventAt: ev.eventAt,
      event,
      ...(ev.tag ? { tag: ev.tag } : {}),
      ...(this.trust ? { verify: this.trust.verifyJobs } : {}),
    };
    const res = await this.pushes.submit(input);
    if (res.eventFinished) this.metrics.jobsDone.inc({ outcome: 'done' });
  }

  private async remove(ev: StoredEvent, event: EventMark, entry: CatalogEntry): Promise<void> {
    const repositoryId = await this.registries.ensureRepository(entry.id, ev.repository);
    const { digest, tag, eventAt } = ev;
    if (!digest && !tag) {
      return this.finish(event, { status: 'skipped', note: 'delete event names neither digest nor tag' });
    }
    const finished = await this.graph.transaction(async (c) => {
      const res = digest
        ? await this.graph.applyDelete(repositoryId, digest, eventAt, c)
        : await this.graph.applyTagDelete(repositoryId, tag!, eventAt, c);
      return this.inbox.finishPending(event, 'done', res.applied ? undefined : STALE_NOTE, c);
    });
    if (finished) this.metrics.jobsDone.inc({ outcome: 'done' });
  }

  /** Records an outcome reached without graph writes. */
  private async finish(event: EventMark, outcome: Outcome): Promise<void> {
    const finished = await this.inbox.finishPending(event, outcome.status, outcome.note);
    if (finished) this.metrics.jobsDone.inc({ outcome: outcome.status });
  }
}
