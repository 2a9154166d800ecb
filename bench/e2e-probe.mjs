// node bench/e2e-probe.mjs: what a Distribution 2.8.2 sender waits for per notification. The real
// registry's notifications go through a loopback TCP relay in front of refgraph that timestamps
// every connection (opened, request in, answer out, closed), so each delivery splits into the
// registry's own time (from one answer to the next request) and refgraph's answer time. Knobs:
//   PROBE_SUBJECTS=100      subjects pushed (4 manifests each: 3 referrers and a tag-schema index)
//   PROBE_ROLE=all          refgraph's role (all: the worker processes events in the same process;
//                           split: an api and a worker process)
//   PROBE_DUMP=1            also count the delivered events by action and print one request
//   PROBE_WAITS=1           also sample what the database's sessions wait on (Lock:object is
//                           the lock a committing transaction that sent NOTIFY holds to its end)
//   BENCH_DATABASE_URL=...  a database the probe may wipe (default: embedded Postgres)
//   BENCH_PROFILE=dir       the refgraph process writes a V8 CPU profile (--cpu-prof) there
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { waitForEvents } from './lib/checks.mjs';
import { imageNodeOptions } from './lib/heap.mjs';
import { freePort } from './lib/net.mjs';
import { migrate, startDatabase } from './lib/postgres.mjs';
import { cpuSeconds, startNodeServer } from './lib/proc.mjs';
import { readdirSync, readFileSync } from 'node:fs';
import { referrerContent, registryStorage, startRegistryProcess } from './lib/registry.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const SUBJECTS = Number(process.env.PROBE_SUBJECTS ?? 100);
const ROLE = process.env.PROBE_ROLE ?? 'all';
const TOKEN = randomBytes(16).toString('hex');
const log = (m) => process.stdout.write(`${m}\n`);

/** A relay to `port` that records, per connection, when it opened, its request ended and its answer ended. */
function timingRelay(port) {
  const deliveries = [];
  const server = createServer((client) => {
    const d = { opened: performance.now(), requestAt: 0, answerAt: 0, closedAt: 0, status: 0, requests: 0 };
    deliveries.push(d);
    const upstream = connect({ port, host: '127.0.0.1', noDelay: true });
    client.setNoDelay(true);
    let expected = -1;
    let request = Buffer.alloc(0);
    client.on('data', (c) => {
      upstream.write(c);
      if (d.requestAt) return;
      // Request end: headers plus Content-Length bytes (Distribution always sends a length).
      request = Buffer.concat([request, c]);
      const end = request.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(request.subarray(0, end).toString('latin1'));
      expected = end + 4 + (m ? Number(m[1]) : 0);
      if (request.length < expected) return;
      d.requestAt = performance.now();
      d.requests++;
      d.request = request;
    });
    upstream.on('data', (c) => {
      client.write(c);
      if (!d.status) d.status = Number(c.subarray(9, 12).toString('latin1'));
      d.answerAt = performance.now();
    });
    const close = () => {
      d.closedAt ||= performance.now();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, deliveries, server })),
  );
}

const cleanups = [];
async function main() {
  const db = await startDatabase(log);
  cleanups.push(() => db.stop());
  await migrate(db.url);
  const servicePort = await freePort();
  const relay = await timingRelay(servicePort);
  cleanups.push(() => new Promise((r) => relay.server.close(r)));
  const storage = await registryStorage();
  cleanups.push(() => storage.remove());
  const registry = await startRegistryProcess({
    storageDir: storage.dir,
    notifyUrl: `http://127.0.0.1:${relay.port}/webhooks/bench`,
    notifyToken: TOKEN,
  });
  cleanups.push(() => registry.stop());
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-probe-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'refgraph.yaml');
  await writeFile(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port: servicePort, logLevel: 'warn', rateLimitPerMinute: 0 },
      worker: { concurrency: 8, pollIntervalMs: 1000 },
      registries: [
        {
          name: 'bench',
          kind: 'distribution',
          url: registry.url,
          webhook: { auth: { type: 'bearer', tokenEnv: 'BENCH_WEBHOOK_TOKEN' } },
        },
      ],
    }),
  );
  // split: the api and the worker roles as two processes (as deploy/kubernetes runs them).
  const services = [];
  const roles = ROLE === 'split' ? ['api', 'worker'] : [ROLE];
  for (const role of roles) {
    const port = role === 'worker' ? await freePort() : servicePort;
    const service = await startNodeServer({
      name: `refgraph (${role})`,
      script: 'dist/apps/server/src/main.js',
      env: {
        DATABASE_URL: db.url,
        BENCH_WEBHOOK_TOKEN: TOKEN,
        REFGRAPH_CONFIG: configPath,
        LOG_LEVEL: 'warn',
        REFGRAPH_ROLE: role,
        ...(role === 'worker' ? { WORKER_PORT: String(port) } : {}),
      },
      nodeFlags: [
        ...imageNodeOptions(),
        ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
      ],
      port,
      log,
    });
    cleanups.push(() => service.stop());
    services.push(service);
  }
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  cleanups.push(() => sql.end());

  const repos = Array.from({ length: 10 }, (_, i) => `team-${i}/app-${i}`);
  const content = referrerContent({
    count: SUBJECTS,
    repositories: repos,
    seed: randomBytes(4).toString('hex'),
  });
  await content.prepare(registry.url);
  // The blob pushes of prepare() are delivered first; wait for the sender to go quiet.
  await quiet(relay.deliveries);
  const skip = relay.deliveries.length;
  const waits = process.env.PROBE_WAITS ? sampleWaits(db.url) : undefined;
  const cpu = () => ({
    ...Object.fromEntries(services.map((s) => [s.name, cpuSeconds(s.pid)])),
    registry: cpuSeconds(registry.pid),
    postgres: treeCpuSeconds(db.pid),
  });
  const cpu0 = cpu();
  const t0 = performance.now();
  await content.push(registry.url);
  const pushed = performance.now() - t0;
  if (ROLE !== 'api') await waitForEvents(sql, content.manifests, 300_000);
  // The api role alone processes nothing, so there is no processing time to report.
  const done = ROLE === 'api' ? NaN : performance.now() - t0;
  const cpu1 = cpu();
  await quiet(relay.deliveries);
  if (waits)
    for (const [k, v] of Object.entries(await waits.stop())) log(`  waits ${k}: ${JSON.stringify(v)}`);
  log(
    `CPU seconds until then: ${Object.entries(cpu1)
      .map(([k, v]) => `${k} ${(v - cpu0[k]).toFixed(1)}`)
      .join(', ')}`,
  );
  const ds = relay.deliveries.slice(skip);
  if (process.env.PROBE_DUMP) {
    // What the sender delivered: action, manifest or blob, and whose request caused it.
    const kinds = {};
    for (const d of ds) {
      const text = d.request.toString('utf8');
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      for (const e of body.events ?? []) {
        const what = `${e.action} ${/manifest|index/.test(e.target?.mediaType ?? '') ? 'manifest' : 'blob'} (${e.request?.method} by ${e.request?.useragent})`;
        kinds[what] = (kinds[what] ?? 0) + 1;
      }
    }
    log(`events delivered: ${JSON.stringify(kinds)}`);
    log(`a request as sent:\n${ds[0].request.toString('utf8')}`);
  }
  const answer = ds.map((d) => d.answerAt - d.opened).sort((a, b) => a - b);
  // The sender's own time: from the end of one answer to the next connection.
  const gaps = ds
    .slice(1)
    .map((d, i) => d.opened - ds[i].answerAt)
    .sort((a, b) => a - b);
  const pct = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
  const span = ds.at(-1).answerAt - ds[0].opened;
  log(
    `${content.manifests} manifests pushed in ${(pushed / 1000).toFixed(1)} s (${((content.manifests / pushed) * 1000).toFixed(0)}/s); ` +
      `${ds.length} deliveries over ${ds.reduce((n, d) => n + d.requests, 0)} requests on ${ds.length} connections in ${(span / 1000).toFixed(1)} s ` +
      `(${((ds.length / span) * 1000).toFixed(0)}/s); all processed ${(done / 1000).toFixed(1)} s after the first push ` +
      `(${((content.manifests / done) * 1000).toFixed(2)} manifests/s, ${(pushed / done).toFixed(2)}× the push rate)`,
  );
  log(
    `refgraph's answer (connection opened → answer out): p50 ${pct(answer, 0.5).toFixed(2)} ms, p90 ${pct(answer, 0.9).toFixed(2)} ms, p99 ${pct(answer, 0.99).toFixed(2)} ms`,
  );
  log(
    `the sender's own time (answer out → next connection): p50 ${pct(gaps, 0.5).toFixed(2)} ms, p90 ${pct(gaps, 0.9).toFixed(2)} ms, p99 ${pct(gaps, 0.99).toFixed(2)} ms`,
  );
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  log(
    `of the delivery span: refgraph answering ${((100 * sum(answer)) / span).toFixed(0)} %, the sender ${((100 * sum(gaps)) / span).toFixed(0)} %; statuses ${JSON.stringify(
      ds.reduce((m, d) => ({ ...m, [d.status]: (m[d.status] ?? 0) + 1 }), {}),
    )}`,
  );
}

/** What a session's statement is, for the wait samples (the first pattern that matches wins). */
const STATEMENTS = [
  ['accept', /INSERT INTO webhook_event/],
  ['push', /INSERT INTO artifact \(/],
  ['get_job', /locked_by = \$1::text/],
  ['complete_job', /delete from .*_private_jobs/is],
  ['add_job', /graphile_worker\.add_job/],
  ['signature', /INSERT INTO signature/],
  ['attestation', /INSERT INTO attestation/],
  ['event read', /FROM webhook_event/],
  ['COMMIT', /^\s*COMMIT/i],
];

/**
 * Samples every 3 ms what each active session of the database waits on (or CPU), per statement
 * (STATEMENTS; `other` for the rest), and counts the commits and WAL flushes in the window.
 */
function sampleWaits(url) {
  const c = new pg.Client({ connectionString: url });
  const counts = {};
  let running = true;
  const totals = () =>
    c.query(
      `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::bigint AS commits,
              (SELECT sum(fsyncs) FROM pg_stat_io WHERE object = 'wal')::bigint AS flushes`,
    );
  let before;
  const loop = (async () => {
    await c.connect();
    before = (await totals()).rows[0];
    while (running) {
      const { rows } = await c.query(
        `SELECT wait_event_type, wait_event, query
         FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      for (const r of rows) {
        const what = STATEMENTS.find(([, re]) => re.test(r.query))?.[0] ?? 'other';
        const side = (counts[what] ??= {});
        const k = r.wait_event_type ? `${r.wait_event_type}:${r.wait_event}` : 'CPU';
        side[k] = (side[k] ?? 0) + 1;
      }
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      const after = (await totals()).rows[0];
      await c.end();
      return {
        ...counts,
        commits: Number(after.commits) - Number(before.commits),
        walFlushes: Number(after.flushes) - Number(before.flushes),
      };
    },
  };
}

/** CPU seconds of a process and its live descendants (a postmaster and its backends), from /proc. */
function treeCpuSeconds(root) {
  if (!root) return NaN;
  const parents = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parents.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents)
      if (tree.has(ppid) && !tree.has(pid)) grew = tree.add(pid) !== undefined;
  }
  let sum = 0;
  for (const pid of tree) sum += cpuSeconds(pid, { children: pid === root }) || 0;
  return sum;
}

/** Resolves once no connection has opened for 1.5 s. */
async function quiet(deliveries) {
  for (;;) {
    const n = deliveries.length;
    await new Promise((r) => setTimeout(r, 1500));
    if (deliveries.length === n && deliveries.every((d) => d.closedAt)) return;
  }
}

main()
  .catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
