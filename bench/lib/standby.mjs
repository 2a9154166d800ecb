// Reads from a PostgreSQL streaming standby against reads from its primary, in the same run: a
// pair from libs/testing's streaming-replica helper (compiled to dist/bench by `npm run
// build:bench`), the bench's graph generated on the primary and replayed by the standby, then
// the same requests on one connection to an api process reading from the primary and to one
// with the standby as its read replica (DATABASE_READ_URLS).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { dropSeeds, generateGraph, sampleKeys } from './generate.mjs';
import { pick } from './load.mjs';
import { freePort } from './net.mjs';
import { startNodeServer } from './proc.mjs';
import { sameRestAnswers } from './checks.mjs';

const GATEKEEPER_KEYS = 100;
/** Settings for a bench-sized load; fsync off, as the pair is thrown away afterwards. */
const PAIR = {
  fsync: false,
  settings: {
    shared_buffers: '512MB',
    max_wal_size: '4GB',
    checkpoint_timeout: '30min',
    max_connections: 100,
  },
};

const helper = () => import('../../dist/bench/libs/testing/src/streaming-replica.js');

/** Fails at once, not at the end of a long run, when the server binaries for the pair are missing. */
export async function requireStandbyBinaries() {
  const { PG_BIN } = await helper();
  for (const bin of ['initdb', 'pg_ctl', 'pg_basebackup'])
    if (!existsSync(join(PG_BIN, bin)))
      throw new Error(
        `the replica scenario needs ${join(PG_BIN, bin)} (PostgreSQL 15; REFGRAPH_PG_BIN names another directory)`,
      );
}

/**
 * Runs the scenario; `measure(id, label, server, opts)` is the bench's, `env` the service
 * environment of the main runs (its config file: registries, trust, policies).
 */
export async function measureStandby({
  size,
  env,
  nodeFlags,
  policyVersion,
  policy,
  registryUrl,
  measure,
  log,
}) {
  const { startStreamingPair } = await helper();
  log('replica: starting a primary and a streaming standby');
  let t0 = Date.now();
  const pair = await startStreamingPair(PAIR);
  const facts = { size, pairStartSeconds: (Date.now() - t0) / 1000 };
  let api;
  try {
    log(`  pair up in ${facts.pairStartSeconds.toFixed(1)} s; generating ${size} artifacts on the primary`);
    const clients = [
      new pg.Client({ connectionString: pair.primaryUrl }),
      new pg.Client({ connectionString: pair.primaryUrl }),
    ];
    let keys;
    try {
      for (const c of clients) await c.connect();
      const gen = await generateGraph(clients, { artifacts: size, registryUrl, policyVersion, log });
      facts.artifacts = gen.artifacts;
      facts.edges = gen.edges;
      keys = (await sampleKeys(clients[0], { count: 5000 })).filter((k) => k.known);
      await dropSeeds(clients[0]);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
    facts.postgres = (await query(pair.standbyUrl, 'SHOW server_version')).server_version;
    t0 = Date.now();
    const { lsn } = await pair.waitForReplay(300_000);
    facts.replaySeconds = (Date.now() - t0) / 1000;
    log(`  standby replayed up to ${lsn} ${facts.replaySeconds.toFixed(1)} s after the load`);

    const targets = { primary: { DATABASE_READ_URLS: '' }, standby: { DATABASE_READ_URLS: pair.standbyUrl } };
    const start = async (target) =>
      startNodeServer({
        name: `refgraph (api, reads on the ${target})`,
        script: 'dist/apps/server/src/main.js',
        env: { ...env, DATABASE_URL: pair.primaryUrl, REFGRAPH_ROLE: 'api', ...targets[target] },
        nodeFlags,
        port: await freePort(),
        log,
      });
    const requests = scenarioRequests(keys, new URL(registryUrl).host, policy);

    // Both api processes run side by side; each scenario is measured on one, then on the other,
    // in alternating order so that a drift in the machine's load favours neither.
    const before = await transactions(pair);
    api = { primary: await start('primary'), standby: await start('standby') };
    facts.lagSeconds = await replicaInRotation(api.standby.url);
    const checks = [
      await sameRestAnswers(
        'OCI referrers, verdict, Gatekeeper',
        api.primary.url,
        api.standby.url,
        [
          ...Array.from({ length: 30 }, requests.referrers),
          ...Array.from({ length: 30 }, requests.verdict),
          ...Array.from({ length: 3 }, requests.gatekeeper),
        ],
        'reads on the primary and on the standby',
      ),
      await gatekeeperResolves(api.standby.url, requests.gatekeeper()),
    ];
    const scenarios = [
      ['referrers', 'OCI referrers API', requests.referrers],
      ['verdict', 'verdict (one image reference)', requests.verdict],
      ['gatekeeper', `Gatekeeper batch of ${GATEKEEPER_KEYS} keys`, requests.gatekeeper],
    ];
    let standbyRequests = 0;
    for (const [i, [name, label, next]] of scenarios.entries()) {
      for (const target of i % 2 ? ['standby', 'primary'] : ['primary', 'standby']) {
        const r = await measure(
          `replica-${target}-${name}`,
          `${label}, reads on the ${target}, 1 connection`,
          api[target],
          { connections: 1, next },
        );
        if (target === 'standby') standbyRequests += r.requests;
      }
    }
    facts.lagSecondsAfter = await replicaInRotation(api.standby.url);
    facts.lagBytesAfter = await pair.replayLagBytes();
    facts.readQueries = await readQueries(api.standby.url);
    await Promise.all([api.primary.stop(), api.standby.stop()]);
    // A backend reports its transaction counts at exit at the latest.
    await clientsGone(pair);
    const after = await transactions(pair);
    facts.transactions = { primary: after.primary - before.primary, standby: after.standby - before.standby };
    facts.standbyRequests = standbyRequests;
    checks.push(standbyServed(facts));
    log(
      `  transactions: primary ${facts.transactions.primary}, standby ${facts.transactions.standby}; ` +
        `statements of the standby's api by target: ${JSON.stringify(facts.readQueries)}; ` +
        `lag after the runs: ${facts.lagSecondsAfter} s, ${facts.lagBytesAfter} bytes`,
    );
    return { facts, checks };
  } finally {
    await Promise.all([api?.primary.stop(), api?.standby.stop()]);
    await pair.destroy();
  }
}

/** OCI referrers GETs, verdicts and Gatekeeper batches over known keys, images named by host. */
function scenarioRequests(keys, host, policy) {
  const post = (path, body) => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // Admission controllers name images by registry host (Gatekeeper keys must).
  const image = (k) => (k.tag ? `${host}/${k.repository}:${k.tag}` : `${host}/${k.repository}@${k.digest}`);
  return {
    referrers: () => {
      const k = pick(keys);
      return { path: `/v2/${k.registry}/${k.repository}/referrers/${k.digest}` };
    },
    verdict: () => post('/api/v1/verdict', { policy, subjects: [image(pick(keys))] }),
    gatekeeper: () =>
      post(`/api/v1/gatekeeper/${policy}`, {
        apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
        kind: 'ProviderRequest',
        request: { keys: Array.from({ length: GATEKEEPER_KEYS }, () => image(pick(keys))) },
      }),
  };
}

/** Every Gatekeeper key resolves to a configured registry and is answered (no error item). */
async function gatekeeperResolves(url, r) {
  const res = await fetch(url + r.path, { method: r.method, headers: r.headers, body: r.body });
  const items = (await res.json()).response?.items ?? [];
  const errors = items.filter((i) => i.error);
  return {
    check: `Gatekeeper keys name the registry by host and are answered (${items.length} keys)`,
    ok: res.status === 200 && items.length === GATEKEEPER_KEYS && errors.length === 0,
    detail: errors.length ? `${errors.length} with an error; first: ${JSON.stringify(errors[0])}` : '',
  };
}

/**
 * The standby served the reads: its api process sent (almost) every read statement to it, and the
 * standby committed at least one transaction per request that process answered in its runs. The
 * other api process has no replica, so the standby's transactions are this process's.
 */
function standbyServed(f) {
  const { primary = 0, ...replicas } = f.readQueries;
  const onStandby = Object.values(replicas).reduce((a, b) => a + b, 0);
  const ok =
    f.transactions.standby >= f.standbyRequests &&
    onStandby >= f.standbyRequests &&
    primary <= onStandby / 100;
  return {
    check:
      'the standby served the reads (committed transactions per server in pg_stat_database, refgraph_read_queries_total)',
    ok,
    detail:
      `${f.standbyRequests} requests measured with reads on the standby; committed transactions: ` +
      `standby ${f.transactions.standby}, primary ${f.transactions.primary}; that api's read statements: ` +
      `standby ${onStandby}, primary ${primary}`,
  };
}

async function query(url, sql) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows[0];
  } finally {
    await c.end();
  }
}

async function transactions(pair) {
  const sql = 'SELECT sum(xact_commit)::bigint AS n FROM pg_stat_database';
  const [p, s] = await Promise.all([query(pair.primaryUrl, sql), query(pair.standbyUrl, sql)]);
  return { primary: Number(p.n), standby: Number(s.n) };
}

/** Waits until no other client is connected to either server (the api process's have exited). */
async function clientsGone(pair) {
  const sql = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
  const end = Date.now() + 30_000;
  for (;;) {
    const [p, s] = await Promise.all([query(pair.primaryUrl, sql), query(pair.standbyUrl, sql)]);
    if (p.n === 0 && s.n === 0) return;
    if (Date.now() > end) throw new Error(`clients still connected: primary ${p.n}, standby ${s.n}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls /readyz until the one replica is in rotation; returns its lag in seconds. */
async function replicaInRotation(url) {
  const end = Date.now() + 60_000;
  for (;;) {
    const body = await (await fetch(`${url}/readyz`)).json();
    const r = body.replicas?.[0];
    if (r?.inRotation) return r.lagSeconds;
    if (Date.now() > end) throw new Error(`the standby is not in rotation: ${JSON.stringify(body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** refgraph_read_queries_total by target, from /metrics (the service's own count). */
async function readQueries(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^refgraph_read_queries_total\{target="([^"]+)"\} (\d+)/gm))
    out[m[1]] = Number(m[2]);
  return out;
}
