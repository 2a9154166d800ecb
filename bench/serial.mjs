// node bench/serial.mjs: webhook accept for a serial sender (Distribution's notification sink),
// refgraph's api role against the bare server, alternating in one run on one machine. Measures
// dist/ as built (npm run build first). Knobs (environment):
//   SERIAL_DELIVERIES=1000   deliveries per measured pass (after 200 unmeasured)
//   SERIAL_ROUNDS=3          rounds; in each, every build runs once beside the bare server
//   SERIAL_SERVERS=refgraph,baseline,bare   which servers to measure
//   SERIAL_BASELINE=path/main.js   another build of the service to measure alongside ("baseline")
//   SERIAL_MODES=new,keep-alive    a new connection per delivery (as Distribution) and/or one kept
//   BENCH_DATABASE_URL=...   a database the bench may wipe (default: embedded Postgres)
//   BENCH_PROFILE=dir        the refgraph process writes a V8 CPU profile (--cpu-prof) there
// All traffic stays on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { imageNodeOptions } from './lib/heap.mjs';
import { freePort } from './lib/net.mjs';
import { migrate, serialCommitRate, startDatabase } from './lib/postgres.mjs';
import { startNodeServer } from './lib/proc.mjs';
import { distributionEnvelopes, sendSerially } from './lib/serial-sender.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const DELIVERIES = Number(process.env.SERIAL_DELIVERIES ?? 1000);
const ROUNDS = Number(process.env.SERIAL_ROUNDS ?? 3);
const list = (v, d) => (v ?? d).split(',').map((x) => x.trim());
const SERVERS = list(process.env.SERIAL_SERVERS, 'refgraph,baseline,bare');
const MODES = list(process.env.SERIAL_MODES, 'new,keep-alive').map((m) => m === 'keep-alive');
const BASELINE = process.env.SERIAL_BASELINE;
const PROFILE_DIR = process.env.BENCH_PROFILE;
const TOKEN = randomBytes(16).toString('hex');
const log = (m) => process.stdout.write(`${m}\n`);

const cleanups = [];
async function main() {
  const db = await startDatabase(log);
  cleanups.push(() => db.stop());
  await migrate(db.url);
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-serial-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'refgraph.yaml');
  await writeFile(
    configPath,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, logLevel: 'warn', rateLimitPerMinute: 0 },
      registries: [
        {
          name: 'bench',
          kind: 'distribution',
          url: 'http://127.0.0.1:9',
          webhook: { auth: { type: 'bearer', tokenEnv: 'BENCH_WEBHOOK_TOKEN' } },
        },
      ],
    }),
  );
  const env = {
    DATABASE_URL: db.url,
    BENCH_WEBHOOK_TOKEN: TOKEN,
    REFGRAPH_CONFIG: configPath,
    LOG_LEVEL: 'warn',
    REFGRAPH_ROLE: 'api',
  };
  const profile = PROFILE_DIR
    ? ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${PROFILE_DIR}`]
    : [];
  /** The builds of the service measured: each runs alone beside the bare server, one at a time. */
  const variants = [
    ['refgraph', 'dist/apps/server/src/main.js', [...imageNodeOptions(), ...profile]],
    // Another build of the service (its own package.json and dist/ beside it).
    ...(BASELINE ? [['baseline', BASELINE, imageNodeOptions()]] : []),
  ].filter(([name]) => SERVERS.includes(name));
  const start = async (name, script, nodeFlags = []) => {
    const s = await startNodeServer({ name, script, env, port: await freePort(), log, nodeFlags });
    cleanups.push(() => s.stop());
    return s;
  };
  const bare = SERVERS.includes('bare') ? await start('bare', 'bench/bare-server.mjs') : undefined;

  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  cleanups.push(() => sql.end());
  log(`one client's durable commits: ${(await serialCommitRate(sql)).toFixed(0)}/s`);

  const next = distributionEnvelopes(['team-0/app-0', 'team-1/app-1', 'team-2/app-2']);
  const rows = [];
  const measure = async (round, name, s, keepAlive) => {
    const url = `${s.url}/webhooks/bench`;
    await sendSerially({ url, token: TOKEN, next, count: 200, keepAlive });
    const cpu0 = cpuMs(s.pid);
    const r = await sendSerially({ url, token: TOKEN, next, count: DELIVERIES, keepAlive });
    const cpuUs = ((cpuMs(s.pid) - cpu0) * 1000) / DELIVERIES;
    rows.push({ round, name, keepAlive, ...r, cpuUs });
    log(
      `round ${round} ${name.padEnd(8)} ${keepAlive ? 'keep-alive' : 'new conn. '}  ` +
        `${r.rps.toFixed(0).padStart(5)}/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ` +
        `server CPU ${cpuUs.toFixed(0)} µs/delivery  ${JSON.stringify(r.statuses)}`,
    );
  };
  for (let round = 1; round <= ROUNDS; round++) {
    // A build is started afresh each round and runs alone with the bare server (with two service
    // processes up, the one started second measured slower in some runs, whichever build it was);
    // builds and the order of the two servers take turns, so that neither is always first.
    const order = variants.map((_, k) => variants[(k + round) % variants.length]);
    for (const [name, script, flags] of order) {
      const s = await start(name, script, flags);
      for (const keepAlive of MODES) {
        const pair = [[name, s], ...(bare ? [['bare', bare]] : [])];
        for (const [n, server] of round % 2 ? pair : pair.reverse())
          await measure(round, n === 'bare' ? `bare/${name}` : n, server, keepAlive);
      }
      await s.stop();
    }
  }
  // Medians over the rounds; a ratio compares passes of the same round (seconds apart).
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pass = (round, keepAlive, name) =>
    rows.find((o) => o.round === round && o.keepAlive === keepAlive && o.name === name);
  const names = [...new Set(rows.map((r) => r.name))];
  log('\n| sender | server | deliveries/s | p50 ms | server CPU µs/delivery | ÷ bare, deliveries/s |');
  log('|---|---|---:|---:|---:|---:|');
  for (const keepAlive of MODES) {
    for (const name of names) {
      const mine = rows.filter((r) => r.name === name && r.keepAlive === keepAlive);
      // Against the bare server's pass in the same round and segment.
      const ratios = mine.map((r) => r.rps / (pass(r.round, keepAlive, `bare/${name}`)?.rps ?? NaN));
      const ratio = !name.startsWith('bare') && bare ? `${median(ratios).toFixed(2)}×` : '';
      log(
        `| ${keepAlive ? 'one kept-alive connection' : 'new connection per delivery'} | ${name} | ` +
          `${median(mine.map((r) => r.rps)).toFixed(0)} | ${median(mine.map((r) => r.p50)).toFixed(2)} | ` +
          `${median(mine.map((r) => r.cpuUs)).toFixed(0)} | ${ratio} |`,
      );
    }
  }
  const last = rows.find((r) => r.name === 'refgraph');
  log(`\nrefgraph's answer:\n${last?.lastHead}\n\n${last?.lastBody}`);
}

/** User + system CPU time of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

main()
  .catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
