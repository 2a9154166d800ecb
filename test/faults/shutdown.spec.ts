import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runningPostgres } from '#store';
import { ensureBuilt, startService, stopAll } from './service.js';

/**
 * The built service on its embedded Postgres (no DATABASE_URL), stopped again and again on the
 * same data directory: by Ctrl-C (SIGINT to the whole process group, as a terminal sends it), by
 * SIGINT and SIGTERM to the process alone (kill, a supervisor, Kubernetes). It stops the job
 * queue, the HTTP server and the pools before Postgres, so nothing after "shutting down" is a
 * warning or an error, it exits 0, and its Postgres is gone.
 */

let dataDir: string;

beforeAll(async () => {
  await ensureBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'refgraph-shutdown-'));
  // As root, Postgres runs as its own user, which must be able to reach the data directory.
  chmodSync(dataDir, 0o755);
}, 200_000);

afterAll(async () => {
  await stopAll();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Line {
  level?: number;
  msg?: string;
}

/** The output from the "shutting down" line on; a line that is not JSON is kept as text. */
function afterShutdown(output: string): (Line | string)[] {
  const lines = output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l): Line | string => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        return l;
      }
    });
  const from = lines.findIndex((l) => typeof l === 'object' && l.msg === 'shutting down');
  expect(from).toBeGreaterThanOrEqual(0);
  return lines.slice(from + 1);
}

it.each([
  ['SIGINT', 'the process group'],
  ['SIGINT', 'the process'],
  ['SIGTERM', 'the process'],
] as const)(
  'stops cleanly on %s to %s with the embedded Postgres',
  async (signal, to) => {
    const service = await startService({
      role: 'all',
      config: { server: { host: '127.0.0.1' }, worker: { pollIntervalMs: 200 } },
      env: { REFGRAPH_DATA_DIR: join(dataDir, 'pg') },
      group: to === 'the process group',
    });
    // The worker has run: its queue connections are open when the signal comes.
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    if (to === 'the process group') process.kill(-service.child.pid!, signal);
    const exit = await service.kill(signal);
    expect(runningPostgres(join(dataDir, 'pg'))).toBeNull();
    const rest = afterShutdown(service.output());
    const loud = rest.filter((l) => typeof l === 'string' || (l.level ?? 0) >= 40);
    expect(loud).toEqual([]);
    expect(exit).toBe('exit 0');
  },
  120_000,
);
