import type { Task } from 'graphile-worker';
import type { TrustRepository } from '#store';
import type { ArtifactVerifier } from './verify-artifact.js';

/** Re-verification after a policy change is queued in pages of this many artifacts. */
export const STALE_REVERIFY_PAGE = 10_000;

/** The `verify_artifact` task: payload `{ digest }`. Retryable failures throw and are retried with backoff. */
export function verifyTask(verifier: ArtifactVerifier): Task {
  return async (payload) => {
    const digest = (payload as { digest?: unknown } | null)?.digest;
    if (typeof digest !== 'string') return;
    await verifier.run(digest);
  };
}

/**
 * Enqueues re-verification of every result stored under another trust policy version, page by
 * page: verdicts read such results as pending (fail closed), so none may be left behind.
 */
export async function requeueStaleVerifications(
  trust: Pick<TrustRepository, 'enqueueStale'>,
  policyVersion: string,
  page = STALE_REVERIFY_PAGE,
): Promise<number> {
  let total = 0;
  let after = '';
  for (;;) {
    const { queued, last } = await trust.enqueueStale(policyVersion, page, after);
    total += queued;
    if (last === null) return total;
    after = last;
  }
}

/** The part of a pino logger the re-queue writes to. */
interface RequeueLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * Re-queues stale results whenever the trust policy changes at run time (a trusted root refresh),
 * with the same `requeueStaleVerifications` as start-up. Passes run one after another, each under
 * the version in force when it starts; a pass that fails (database unavailable) is tried again
 * after `retryMs`, since rows left stale would read as pending until the next change.
 */
export class StaleVerificationRequeuer {
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly trust: Pick<TrustRepository, 'enqueueStale'>,
    private readonly version: () => string,
    private readonly log: RequeueLog,
    private readonly retryMs = 30_000,
  ) {}

  /** Queues a pass after any in flight; resolves once it has run (successfully or not). */
  request(): Promise<void> {
    clearTimeout(this.retry);
    this.chain = this.chain.then(() => this.pass());
    return this.chain;
  }

  /** Resolves when every pass requested so far has run. */
  idle(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.chain;
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    const version = this.version();
    try {
      const stale = await requeueStaleVerifications(this.trust, version);
      this.log.info({ stale, policyVersion: version }, 'trust policy changed: re-verifying stored results');
    } catch (err) {
      this.log.error(
        { err, policyVersion: version, retryInMs: this.retryMs },
        'stale results not re-queued after a trust policy change',
      );
      if (!this.closed) {
        this.retry = setTimeout(() => void this.request(), this.retryMs);
        this.retry.unref();
      }
    }
  }
}
