// Rate-limited per-item log lines: above a rate, one summary line per interval instead.
import type { Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The part of a pino logger the sampler writes to. */
export type LineSink = Pick<Logger, LogLevel>;

export interface SamplerOptions {
  /** Item lines written per kind per interval; beyond that, items are only counted. */
  maxPerInterval?: number;
  intervalMs?: number;
  /** Milliseconds; injectable so tests need no timers. */
  now?: () => number;
}

interface Window {
  start: number;
  written: number;
  /** Items counted but not written in this window, by `outcome` (or '' when the item has none). */
  suppressed: Map<string, number>;
  /** The most severe level among the suppressed items: the summary's level. */
  level: LogLevel;
}

export const DEFAULT_LINES_PER_INTERVAL = 20;
export const DEFAULT_INTERVAL_MS = 1_000;

/**
 * Writes one line per item until a kind (a message, e.g. 'webhook delivery') has written
 * `maxPerInterval` lines in its current interval; further items of that kind are counted, and the
 * first item of a later interval first writes one summary line for the suppressed ones
 * (`{ kind, suppressed, outcomes, intervalMs }`). Nothing is lost: every item is either a line or
 * a count in a summary, provided another item (or flush()) follows; there is no timer, so an idle
 * service writes nothing. Warnings and errors are rate-limited like the rest: a flood of refusals
 * is exactly when per-item lines become unreadable.
 */
export class LogSampler {
  private readonly max: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly sink: LineSink,
    opts: SamplerOptions = {},
  ) {
    this.max = opts.maxPerInterval ?? DEFAULT_LINES_PER_INTERVAL;
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** `fields.outcome`, when a string, groups the counts of a summary line. */
  write(level: LogLevel, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    let w = this.windows.get(msg);
    if (w && t - w.start >= this.intervalMs) {
      this.summarise(msg, w);
      w = undefined;
    }
    if (!w) {
      w = { start: t, written: 0, suppressed: new Map(), level: 'debug' };
      this.windows.set(msg, w);
    }
    if (w.written < this.max) {
      w.written++;
      this.sink[level](fields, msg);
      return;
    }
    const key = typeof fields.outcome === 'string' ? fields.outcome : '';
    w.suppressed.set(key, (w.suppressed.get(key) ?? 0) + 1);
    if (SEVERITY[level] > SEVERITY[w.level]) w.level = level;
  }

  /** Writes the summaries of every open interval (at shutdown). */
  flush(): void {
    for (const [msg, w] of this.windows) this.summarise(msg, w);
    this.windows.clear();
  }

  private summarise(msg: string, w: Window): void {
    let suppressed = 0;
    for (const n of w.suppressed.values()) suppressed += n;
    if (suppressed === 0) return;
    const outcomes = Object.fromEntries([...w.suppressed].filter(([k]) => k !== ''));
    this.sink[w.level](
      { kind: msg, suppressed, outcomes, intervalMs: this.intervalMs, written: w.written },
      `${msg}: ${suppressed} more in ${this.intervalMs} ms (summary)`,
    );
  }
}

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
