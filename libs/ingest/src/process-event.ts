import { classify, parseManifest } from '#oci';
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
import { RegistryError } from '#registry';
import type { CatalogEntry, RegistryCatalog } from './catalog.js';
import { describeError, isNotFound, isRetryable } from './errors.js';
import type { Metrics } from './metrics.js';
import type { LogLevel, LogSampler } from './log-sampler.js';
import { isRegistryBusy } from './registry-budget.js';

type Outcome = { status: 'done' | 'skipped'; note?: string };

/** What one event's line says beyond the event itself. */
type LineFields = { outcome: 'done' | 'skipped' | 'stale' | 'retrying' | 'failed' } & Record<string, unknown>;

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
    /** One line per outcome (rate-limited): what was written, or why nothing was. */
    private readonly log?: LogSampler,
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
      await this.finish(ev, event, { status: 'skipped', note: 'registry is no longer configured' });
      return;
    }
    if (ev.action === 'unknown') {
      // Only rejected events name no action, and they are never queued; nothing to act on.
      await this.finish(ev, event, { status: 'skipped', note: 'event names no action' });
      return;
    }
    try {
      await (ev.action === 'push' ? this.push(ev, event, entry, content) : this.remove(ev, event, entry));
    } catch (err) {
      // Not an attempt: the task wrapper (deferWhenBusy) reschedules the job.
      if (isRegistryBusy(err)) throw err;
      const message = describeError(err);
      // Input errors (a NUL in an annotation) fail once, with the reason, instead of being
      // retried for hours to the same end.
      if (!isRetryable(err) || attempt >= maxAttempts) {
        await this.inbox.finish(ev.id, 'failed', attempt, message);
        this.metrics.jobsDone.inc({ outcome: 'failed' });
        this.line('error', ev, { outcome: 'failed', error: message, attempt, maxAttempts });
        return;
      }
      await this.inbox.recordAttempt(ev.id, attempt, message).catch(() => undefined);
      this.metrics.jobsRetried.inc();
      this.line('warn', ev, { outcome: 'retrying', error: message, attempt, maxAttempts });
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
      return this.finish(ev, event, { status: 'skipped', note: 'tag no longer exists in the registry' });

    let content = ev.digest ? stored : await this.graph.findManifest(digest);
    // Content is immutable, presence is not: bytes stored from another repository say nothing of
    // this one. A digest the event names (not one just resolved from a tag here) counts as present
    // only when the registry serves it in this repository, as a fetch would have shown.
    if (content && ev.digest && !(await entry.client.manifestExists(ev.repository, digest))) {
      return this.finish(ev, event, {
        status: 'skipped',
        note: 'manifest no longer in the registry',
        digest,
      });
    }
    if (!content) {
      const started = process.hrtime.bigint();
      let outcome = 'ok';
      try {
        const fetched = await entry.client.fetchManifest(ev.repository, digest);
        content = { bytes: fetched.bytes, mediaType: fetched.mediaType };
      } catch (err) {
        outcome = err instanceof RegistryError ? err.code : 'error';
        if (isNotFound(err)) {
          return this.finish(ev, event, {
            status: 'skipped',
            note: 'manifest no longer in the registry',
            digest,
          });
        }
        throw err;
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.fetchSeconds.observe({ registry: entry.config.name, outcome }, seconds);
      }
    }
    const manifest = parseManifest(content.bytes, digest, content.mediaType);
    const tag = ev.tag && ev.digest ? await this.confirmedTag(ev, ev.digest, entry) : ev.tag;
    const repositoryId = await this.registries.ensureRepository(entry.id, ev.repository);
    const input: PushInput = {
      repositoryId,
      manifest,
      kind: classify(manifest),
      bytes: content.bytes,
      eventAt: ev.eventAt,
      event,
      ...(tag ? { tag } : {}),
      ...(this.trust ? { verify: this.trust.verifyJobs } : {}),
    };
    const res = await this.pushes.submit(input);
    if (!res.eventFinished) return;
    this.metrics.jobsDone.inc({ outcome: 'done' });
    this.line('info', ev, {
      outcome: res.applied ? 'done' : 'stale',
      digest,
      kind: input.kind,
      ...(tag ? { tag } : {}),
      edgesAdded: res.edgesAdded,
      edgesRemoved: res.edgesRemoved,
    });
  }

  /**
   * The event's tag when the registry still points it at the event's digest, else undefined: the
   * manifest is recorded either way, but a replayed or out-of-date push (event times order only
   * events that carry trustworthy ones) must not move a tag back to an older digest. A tag-only
   * event needs no check: its digest was just resolved at the registry.
   */
  private async confirmedTag(
    ev: StoredEvent,
    digest: string,
    entry: CatalogEntry,
  ): Promise<string | undefined> {
    const current = await entry.client.resolveTag(ev.repository, ev.tag!);
    if (current === digest) return ev.tag!;
    this.metrics.tagsUnconfirmed.inc({ registry: entry.config.name });
    return undefined;
  }

  /**
   * A delete is the sender's claim about the registry, and a forged or replayed one would take
   * signatures, SBOMs, vulnerability reports or VEX out of the graph (a missing vulnerability
   * report reads as a clean image). It is applied only when the registry answers not found for
   * what it names; any other answer throws, to be retried or failed, and removes nothing.
   */
  private async remove(ev: StoredEvent, event: EventMark, entry: CatalogEntry): Promise<void> {
    const { digest, tag, eventAt } = ev;
    if (!digest && !tag) {
      return this.finish(ev, event, { status: 'skipped', note: 'delete event names neither digest nor tag' });
    }
    const served = digest
      ? await entry.client.manifestExists(ev.repository, digest)
      : (await entry.client.resolveTag(ev.repository, tag!)) !== null;
    if (served) {
      this.metrics.deletesUnconfirmed.inc({ registry: entry.config.name });
      return this.finish(ev, event, {
        status: 'skipped',
        note: digest ? 'manifest still in the registry' : 'tag still in the registry',
      });
    }
    const repositoryId = await this.registries.ensureRepository(entry.id, ev.repository);
    const { finished, res } = await this.graph.transaction(async (c) => {
      const res = digest
        ? await this.graph.applyDelete(repositoryId, digest, eventAt, c)
        : await this.graph.applyTagDelete(repositoryId, tag!, eventAt, c);
      return {
        res,
        finished: await this.inbox.finishPending(event, 'done', res.applied ? undefined : STALE_NOTE, c),
      };
    });
    if (!finished) return;
    this.metrics.jobsDone.inc({ outcome: 'done' });
    this.line('info', ev, {
      outcome: res.applied ? 'done' : 'stale',
      edgesAdded: res.edgesAdded,
      edgesRemoved: res.edgesRemoved,
    });
  }

  /** Records an outcome reached without graph writes. */
  private async finish(
    ev: StoredEvent,
    event: EventMark,
    outcome: Outcome & { digest?: string },
  ): Promise<void> {
    const finished = await this.inbox.finishPending(event, outcome.status, outcome.note);
    if (!finished) return;
    this.metrics.jobsDone.inc({ outcome: outcome.status });
    this.line('info', ev, {
      outcome: outcome.status,
      note: outcome.note,
      ...(outcome.digest ? { digest: outcome.digest } : {}),
    });
  }

  /**
   * One line per event outcome, written once: a run that finds the event already finished by
   * another writes nothing. Retries and final failures are their own kind, so a flood of
   * successes never hides them in a summary.
   */
  private line(level: LogLevel, ev: StoredEvent, fields: LineFields): void {
    const failed = fields.outcome === 'retrying' || fields.outcome === 'failed';
    this.log?.write(
      level,
      {
        eventId: ev.id,
        registry: this.catalog.byId(ev.registryId)?.config.name,
        repository: ev.repository,
        action: ev.action,
        ...(ev.digest ? { digest: ev.digest } : {}),
        ...(ev.tag ? { tag: ev.tag } : {}),
        ...fields,
      },
      failed ? 'event not ingested' : 'event ingested',
    );
  }
}
