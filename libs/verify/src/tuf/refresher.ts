// Keeps the trusted root in force fresh: at start-up (bounded) and on a schedule.
import type { CurrentTrust } from '../current-trust.js';
import { TrustPolicy, configuredRootSource } from '../trust-policy.js';
import { loadTrustRoot, TrustRoot } from '../trust-root.js';
import type { TrustConfig } from '#config';
import type { TrustedRootSource } from './tuf-source.js';

/** The part of a pino logger the refresher writes to. */
export interface RefreshLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RefreshEvents {
  /** A refresh verified the repository's metadata and its trusted root (changed or not). */
  succeeded?(at: Date): void;
  /** A refresh failed; the root in force stays. */
  failed?(error: string): void;
}

export type RefreshOutcome =
  | { status: 'changed'; digest: string; previousDigest: string; version: string }
  | { status: 'unchanged'; digest: string }
  | { status: 'failed'; error: string };

export interface RefresherOptions {
  /** Between refreshes after start-up; 0: none. */
  intervalMs: number;
  /** How long `start` waits for the first refresh before going on with the root in force. */
  startupTimeoutMs: number;
  log?: RefreshLog;
  events?: RefreshEvents;
}

/**
 * The policy to start with: the last root a refresh accepted (kept by the source), else the one
 * the configuration names (embedded public-good, or a file). A kept root that no longer parses is
 * ignored.
 */
export async function initialTrustPolicy(
  config: TrustConfig,
  source: TrustedRootSource | undefined,
  log?: RefreshLog,
): Promise<TrustPolicy> {
  const kept = source ? await source.lastGood() : undefined;
  if (kept !== undefined) {
    try {
      const root = TrustRoot.fromJSON(kept, `${source!.name} (cached)`);
      log?.info({ source: root.name, digest: root.digest }, 'trusted root from the TUF cache');
      return await TrustPolicy.load(config, root);
    } catch (err) {
      log?.warn({ source: source!.name, error: describe(err) }, 'cached trusted root ignored');
    }
  }
  return TrustPolicy.load(config, await loadTrustRoot(configuredRootSource(config)));
}

/**
 * Refreshes the trusted root from a TUF repository into `trust`. A refresh that fails for any
 * reason (mirror down, expired or badly signed metadata, a target that is no valid trusted root)
 * changes nothing: the root in force stays, and the failure is logged and counted. When the root's
 * content changes, so does the policy version, and `trust`'s listeners are told.
 */
export class TrustRootRefresher {
  private running: Promise<RefreshOutcome> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly trust: CurrentTrust,
    private readonly source: TrustedRootSource,
    private readonly options: RefresherOptions,
  ) {}

  /**
   * The first refresh, waited for at most `startupTimeoutMs` (undefined when it is still running:
   * it goes on and takes effect when it completes), then the schedule.
   */
  async start(): Promise<RefreshOutcome | undefined> {
    const first = this.refresh();
    let deadline: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      first,
      new Promise<undefined>((resolve) => {
        deadline = setTimeout(() => resolve(undefined), this.options.startupTimeoutMs);
      }),
    ]);
    clearTimeout(deadline);
    if (!outcome) {
      this.options.log?.warn(
        {
          source: this.source.name,
          waitedMs: this.options.startupTimeoutMs,
          root: this.trust.policy.trustRoot.name,
        },
        'trusted root refresh still running; starting with the root in force',
      );
    }
    if (this.options.intervalMs > 0 && !this.stopped) {
      this.timer = setInterval(() => void this.refresh(), this.options.intervalMs);
      this.timer.unref();
    }
    return outcome;
  }

  /** One refresh; concurrent calls share the one in flight. Never rejects. */
  refresh(): Promise<RefreshOutcome> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No further refreshes; waits for one in flight, whose result is then dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async run(): Promise<RefreshOutcome> {
    let json: unknown;
    let root: TrustRoot;
    try {
      json = await this.source.fetch();
      root = TrustRoot.fromJSON(json, this.source.name);
    } catch (err) {
      const error = describe(err);
      if (this.stopped) return { status: 'failed', error };
      this.options.events?.failed?.(error);
      this.options.log?.warn(
        { source: this.source.name, error, root: this.trust.policy.trustRoot.name },
        'trusted root refresh failed; keeping the root in force',
      );
      return { status: 'failed', error };
    }
    if (this.stopped) return { status: 'failed', error: 'stopped' };
    this.options.events?.succeeded?.(new Date());
    // Kept whether or not it changed: the first refresh caches the root it verified.
    try {
      await this.source.remember(json);
    } catch (err) {
      this.options.log?.warn({ source: this.source.name, error: describe(err) }, 'trusted root not cached');
    }
    const previous = this.trust.policy;
    if (root.digest === previous.trustRoot.digest) return { status: 'unchanged', digest: root.digest };
    this.trust.replace(previous.withTrustRoot(root));
    this.options.log?.info(
      {
        source: this.source.name,
        digest: root.digest,
        previousDigest: previous.trustRoot.digest,
        version: this.trust.version,
        previousVersion: previous.version,
      },
      'trusted root changed: results under the previous trust policy version are re-verified',
    );
    return {
      status: 'changed',
      digest: root.digest,
      previousDigest: previous.trustRoot.digest,
      version: this.trust.version,
    };
  }
}

/** The error and its causes, innermost last: TUF errors wrap the reason (expired, bad signature). */
function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(e instanceof Error ? e.message : JSON.stringify(e));
    e = e instanceof Error ? (e as { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ');
}
