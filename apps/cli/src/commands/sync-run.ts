// What `refgraph sync` runs (commands/sync.ts registers it and loads this module when it runs).
import { ConfigError, loadConfig, type RefgraphConfig } from '#config';
import {
  migrateQueue,
  RegistryCatalog,
  RegistrySync,
  SyncError,
  type SyncResult,
  type SyncSummary,
} from '#ingest/sync';
import { isRepositoryName, RegistryClient } from '#registry';
import { Database, GraphRepository, RegistryRepository, SyncRepository, TrustRepository } from '#store';
import { openServiceDatabase } from '../database.js';
import { EXIT, UsageError, oneLine } from '../exit.js';
import { outputMode } from '../format.js';
import type { SyncCliOptions, SyncIo } from './sync.js';

export async function runSync(name: string, opts: SyncCliOptions, io: SyncIo): Promise<number> {
  const mode = outputMode(opts, ['text', 'json']);
  for (const r of opts.repository)
    if (!isRepositoryName(r)) throw new UsageError(`invalid repository name "${r}"`);
  let config: RefgraphConfig;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (!config.registries.some((r) => r.name === name)) {
    const known = config.registries.map((r) => r.name).join(', ') || 'none';
    throw new UsageError(`no registry named "${name}" in the config file (configured: ${known})`);
  }

  const target = await openServiceDatabase(config.databaseUrl, io.env);
  io.stderr.write(`sync ${name}: ${target.note}\n`);
  const db = new Database({ url: target.url, maxConnections: config.sync.concurrency * 2 + 4 });
  const progress = new ProgressLine(io.stderr, name);
  try {
    // The same migrations the service applies at start-up (idempotent, serialised by a lock).
    await db.migrate();
    await migrateQueue(db.pool);
    const registries = new RegistryRepository(db);
    const rows = await registries.upsertRegistries(config.registries);
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    const catalog = new RegistryCatalog(
      config.registries.map((c) => ({ id: ids.get(c.name)!, config: c, client: new RegistryClient(c) })),
    );
    const sync = new RegistrySync({
      catalog,
      graph: new GraphRepository(db),
      registries,
      sync: new SyncRepository(db),
      // Verification runs in the service's workers; the walk only queues it.
      trust: new TrustRepository(db),
      concurrency: config.sync.concurrency,
    });
    let result: SyncResult;
    try {
      result = await sync.run(name, {
        ...(opts.repository.length ? { repositories: opts.repository } : {}),
        reconcile: opts.reconcile === true,
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: (s) => progress.update(s),
      });
    } catch (err) {
      if (!(err instanceof SyncError)) throw err;
      progress.end();
      io.stderr.write(`${err.code}: ${oneLine(err.message)}\n`);
      return EXIT.error;
    }
    progress.end();
    io.stdout.write(
      mode === 'json' ? `${JSON.stringify({ status: result.status, ...result.summary })}\n` : report(result),
    );
    return result.status === 'done' && result.summary.errors === 0 ? EXIT.ok : EXIT.error;
  } finally {
    progress.end();
    await db.close();
    await target.release();
  }
}

export function report({ status, summary: s, error }: SyncResult): string {
  const lines: Array<[string, string]> = [
    ['registry', s.registry],
    ['status', status + (s.resumed ? ` (resumed after ${s.resumeAfter ?? 'the start'})` : '')],
    ['mode', s.reconcile ? 'sync and reconcile' : 'sync'],
    ['repositories', `${s.repositories}/${s.repositoriesTotal}`],
    [
      'manifests',
      `${s.manifestsFetched} fetched, ${s.manifestsSkipped} already stored, ${s.manifestsWritten} written`,
    ],
    ['tags', String(s.tags)],
    ['edges', `${s.edgesAdded} added, ${s.edgesRemoved} removed`],
    ['deletes', `${s.deletes} manifests, ${s.tagDeletes} tags`],
    ['stale writes', String(s.stale)],
    ['referrers API', s.referrersApi === null ? 'not asked' : s.referrersApi ? 'yes' : 'no (tag schema)'],
    ['requests', `${s.requests} (${s.retries} retried, ${s.rateLimited} rate limited)`],
    ['errors', String(s.errors)],
  ];
  const out = lines.map(([k, v]) => `${k.padEnd(14)}${v}`);
  if (error) out.push(`${'reason'.padEnd(14)}${oneLine(error)}`);
  for (const e of s.errorSamples) {
    const at = [e.repository, e.reference].filter(Boolean).join('@');
    out.push(`  ${e.code}${at ? ` ${at}` : ''}: ${oneLine(e.message)}`);
  }
  if (s.errors > s.errorSamples.length) out.push(`  ... and ${s.errors - s.errorSamples.length} more`);
  return `${out.join('\n')}\n`;
}

/** A redrawn bar on a terminal; elsewhere (logs, CI) a plain line at most every few seconds. */
class ProgressLine {
  private last = 0;
  private drawn = false;
  private ended = false;
  private readonly tty: boolean;

  constructor(
    private readonly out: SyncIo['stderr'],
    private readonly registry: string,
  ) {
    this.tty = out.isTTY === true;
  }

  update(s: Readonly<SyncSummary>): void {
    if (this.ended) return;
    const now = Date.now();
    if (now - this.last < (this.tty ? 100 : 5000)) return;
    this.last = now;
    const counts =
      `${s.repositories}/${s.repositoriesTotal} repositories · ${s.manifestsFetched} fetched · ` +
      `${s.manifestsSkipped} known · ${s.errors} errors`;
    if (!this.tty) {
      this.out.write(`sync ${this.registry}: ${counts}\n`);
      return;
    }
    const width = 24;
    const filled = s.repositoriesTotal ? Math.round((width * s.repositories) / s.repositoriesTotal) : 0;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${bar} ${counts}`.slice(0, Math.max(20, (this.out.columns ?? 100) - 1));
    this.out.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.drawn) this.out.write('\r\x1b[2K');
  }
}
