// The sync scenario. `refgraph sync` (the CLI, as an operator runs a backfill) over a registry
// holding `manifests` manifests, against a bare crawl of the same registry with the same
// concurrency that only GETs every manifest (the limit the registry sets), in the same run. The
// crawl verifies nothing, so no worker runs while either is measured: the verification the sync
// queues is measured after it, by a worker-role process of its own, in a row of its own.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { crawl } from './crawl.mjs';
import { freePort } from './net.mjs';
import { cpuSeconds, sampleCpu, sampleRss, startNodeServer } from './proc.mjs';
import { referrerContent } from './registry.mjs';

const VERIFY_TASK = 'verify_artifact';
/** The verification row gives up after this long (and says so). */
const DRAIN_TIMEOUT_MS = 180_000;

/**
 * Runs the scenario; answers its rows: `bare-sync`, `sync` and `sync-verify`. `postgresPid` (the
 * embedded postmaster) lets the sync row say how much CPU Postgres spent on it.
 */
export async function measureSync({ registry, env, nodeFlags, manifests, sql, postgresPid, log }) {
  const runs = {};
  const content = referrerContent({
    count: Math.ceil(manifests / 5),
    repositories: Array.from({ length: 10 }, (_, i) => `sync/app-${i}`),
    seed: randomBytes(4).toString('hex'),
    images: true,
  });
  log(`sync: pushing ${content.manifests} manifests to a registry without notifications`);
  await content.prepare(registry.url);
  await content.push(registry.url);

  // The crawl runs before and after the sync and counts with their mean, so that a shared machine
  // getting busier or quieter during the scenario does not decide the ratio.
  const before = await bareCrawl(registry, log);
  log('run refgraph sync bench-sync (no worker running)');
  const queuedBefore = await verifyJobs(sql);
  const registryCpu = cpuSeconds(registry.pid);
  const postgresCpu = postgresPid ? cpuSeconds(postgresPid, { children: true }) : NaN;
  const t0 = Date.now();
  const child = spawn(process.execPath, [...nodeFlags, 'bin/refgraph.js', 'sync', 'bench-sync', '--json'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rss = sampleRss(child.pid);
  const cli = sampleCpu(child.pid);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err = (err + d).slice(-2000)));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const seconds = (Date.now() - t0) / 1000;
  const peakRssMiB = rss.stop();
  const cpu = {
    cli: cli.stop(),
    registry: cpuSeconds(registry.pid) - registryCpu,
    // The CLI's backends have exited (it closed its pool): their CPU is the postmaster's now.
    postgres: postgresPid ? cpuSeconds(postgresPid, { children: true }) - postgresCpu : NaN,
  };
  if (code !== 0) throw new Error(`refgraph sync exited ${code}: ${out}${err}`);
  const summary = JSON.parse(out.trim().split('\n').at(-1));
  const walked = summary.manifestsFetched + summary.manifestsSkipped;
  const queued = (await verifyJobs(sql)).pending - queuedBefore.pending;
  runs.sync = {
    label:
      `refgraph sync (${content.manifests} manifests pushed): walk and graph writes, no worker running; ` +
      `the ${queued} verifications it queued run after it (next row)`,
    rps: walked / seconds,
    manifests: walked,
    pushed: content.manifests,
    seconds,
    peakRssMiB,
    cpu,
    queued,
    summary,
  };
  log(
    `    ${walked} manifests in ${seconds.toFixed(1)} s (${(walked / seconds).toFixed(0)}/s), ${queued} verifications queued`,
  );

  const after = await bareCrawl(registry, log);
  const mean = (f) => (f(before) + f(after)) / 2;
  runs['bare-sync'] = {
    label: 'bare crawl: GET every manifest, same concurrency (mean of a run before and one after the sync)',
    rps: before.manifests / mean((c) => c.seconds),
    manifests: before.manifests,
    seconds: mean((c) => c.seconds),
    runsSeconds: [before.seconds, after.seconds],
    cpu: { crawler: mean((c) => c.cpu.crawler), registry: mean((c) => c.cpu.registry) },
  };
  runs['sync-verify'] = await drainVerification({ env, nodeFlags, sql, queued, log });
  return runs;
}

async function bareCrawl(registry, log) {
  log('run bare crawl (GET every manifest, 8 at a time)');
  const registryCpu = cpuSeconds(registry.pid);
  const selfCpu = process.cpuUsage();
  const c = await crawl(registry.url, { concurrency: 8 });
  const crawler = process.cpuUsage(selfCpu);
  log(`    ${c.manifests} manifests in ${c.seconds.toFixed(1)} s`);
  return {
    ...c,
    cpu: { crawler: (crawler.user + crawler.system) / 1e6, registry: cpuSeconds(registry.pid) - registryCpu },
  };
}

/** Verification jobs not finished yet, and those of them in a retry's backoff. */
async function verifyJobs(sql) {
  const { rows } = await sql.query(
    `SELECT count(*)::int AS pending, count(*) FILTER (WHERE run_at > now())::int AS waiting
     FROM graphile_worker.jobs WHERE task_identifier = $1 AND attempts < max_attempts`,
    [VERIFY_TASK],
  );
  return rows[0];
}

/** A worker-role refgraph runs the queued verifications; the row is their rate, from its start. */
async function drainVerification({ env, nodeFlags, sql, queued, log }) {
  // Earlier scenarios may have left some of their own: the worker is timed on all that wait.
  const waiting = (await verifyJobs(sql)).pending;
  log(`run the worker role on the ${waiting} verifications waiting (${queued} queued by sync)`);
  const t0 = Date.now();
  const port = await freePort();
  const worker = await startNodeServer({
    name: 'refgraph (worker)',
    script: 'dist/apps/server/src/main.js',
    // The worker role's listener (health, metrics) takes WORKER_PORT, not PORT.
    env: { ...env, REFGRAPH_ROLE: 'worker', WORKER_PORT: String(port) },
    nodeFlags,
    port,
    log,
  });
  let left;
  try {
    for (;;) {
      left = await verifyJobs(sql);
      // Runnable jobs gone; a job in a retry's backoff is not waited for (the row says how many).
      if (left.pending === left.waiting || Date.now() - t0 > DRAIN_TIMEOUT_MS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await worker.stop();
  }
  const seconds = (Date.now() - t0) / 1000;
  const done = waiting - left.pending;
  const timedOut = left.pending > left.waiting;
  log(
    `    ${done} verifications in ${seconds.toFixed(1)} s${timedOut ? ' (TIMED OUT)' : ''}, ${left.waiting} retrying`,
  );
  return {
    label: `verification of what sync queued: a worker-role process after the sync, from its start`,
    rps: done / seconds,
    jobs: waiting,
    done,
    retrying: left.waiting,
    seconds,
    timedOut,
  };
}
