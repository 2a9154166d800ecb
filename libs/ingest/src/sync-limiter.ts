import { RegistryError } from '#registry';
import { isRetryable } from './errors.js';

export interface LimiterOptions {
  /** Requests in flight at once. */
  concurrency: number;
  /** Attempts after the first, for errors the registry marks retryable (5xx, network, 429). */
  retries?: number;
  /** First backoff; doubles per attempt, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails and is reported. */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
}

export interface LimiterStats {
  requests: number;
  retries: number;
  rateLimited: number;
}

/**
 * Every request a sync makes to one registry goes through here: at most `concurrency` in flight,
 * retryable failures retried with backoff, and a 429 pauses *all* requests to the registry until
 * its Retry-After has passed, since the limit is the registry's, not the request's.
 */
export class RequestLimiter {
  readonly stats: LimiterStats = { requests: 0, retries: 0, rateLimited: 0 };
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private pausedUntil = 0;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly opts: LimiterOptions) {
    this.retries = opts.retries ?? 4;
    this.baseDelayMs = opts.baseDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.acquire();
      let wait: number;
      try {
        this.stats.requests++;
        return await fn();
      } catch (err) {
        // Only the registry's own failures are retried here, as the one predicate classifies them.
        if (!(err instanceof RegistryError) || !isRetryable(err) || attempt >= this.retries) throw err;
        const retryAfter = err.retryAfterMs;
        if (retryAfter !== undefined && retryAfter > this.maxRetryAfterMs) throw err;
        wait = retryAfter ?? this.backoff(attempt);
        this.stats.retries++;
        if (err.code === 'rate_limited') {
          this.stats.rateLimited++;
          this.pausedUntil = Math.max(this.pausedUntil, Date.now() + wait);
        }
      } finally {
        this.release();
      }
      await sleep(wait, this.opts.signal);
    }
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt);
    return Math.round(exp / 2 + (Math.random() * exp) / 2);
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) await sleep(pause, this.opts.signal);
      if (this.active < this.opts.concurrency) break;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Task = () => Promise<void>;

/**
 * Runs tasks, `width` at a time; a task may add more. Stops taking new tasks once the signal
 * aborts or a task throws, lets the running ones finish, then rethrows the first failure.
 */
export class TaskPool {
  private readonly queue: Task[] = [];
  private active = 0;
  private tracked = 0;
  private wake?: () => void;
  private failure?: { error: unknown };

  constructor(
    private readonly width: number,
    private readonly signal?: AbortSignal,
  ) {}

  add(task: Task): void {
    this.queue.push(task);
    this.wake?.();
  }

  /**
   * Waits for `work` as for a task without taking one of the `width` places: run() ends only once
   * it has settled, and its failure stops the pool as a task's does.
   */
  track(work: Promise<unknown>): void {
    this.tracked++;
    work
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.tracked--;
        this.wake?.();
      });
  }

  async run(): Promise<void> {
    for (;;) {
      while (this.active < this.width && this.queue.length > 0 && !this.stopping()) {
        const task = this.queue.shift()!;
        this.active++;
        task()
          .catch((error: unknown) => {
            this.failure ??= { error };
          })
          .finally(() => {
            this.active--;
            this.wake?.();
          });
      }
      if (this.active === 0 && this.tracked === 0 && (this.queue.length === 0 || this.stopping())) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    if (this.failure) throw this.failure.error;
  }

  private stopping(): boolean {
    return this.failure !== undefined || this.signal?.aborted === true;
  }
}
