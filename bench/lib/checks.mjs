import { randomBytes } from 'node:crypto';
import { REFERRERS_SQL } from './referrers-sql.mjs';

/** Both servers give the same status and byte-identical body for every key. */
export async function sameAnswers(label, aUrl, bUrl, keys) {
  let mismatches = 0;
  let first;
  for (const k of keys) {
    const path = `/v2/${k.registry}/${k.repository}/referrers/${k.digest}`;
    const [a, b] = await Promise.all([fetch(aUrl + path), fetch(bUrl + path)]);
    const [ta, tb] = await Promise.all([a.text(), b.text()]);
    if (a.status !== b.status || ta !== tb) {
      mismatches++;
      first ??= `${path}: ${a.status} ${ta.slice(0, 120)} vs ${b.status} ${tb.slice(0, 120)}`;
    }
  }
  return {
    check: `refgraph and bare fastify + pg answer the same bytes (${label}, ${keys.length} keys)`,
    ok: mismatches === 0,
    detail: mismatches ? `${mismatches} differ; first: ${first}` : '',
  };
}

/** refgraph's referrers answer for each registry subject lists what its tag-schema index lists. */
export async function sameAsRegistry(serviceUrl, subjects) {
  let mismatches = 0;
  let first;
  const sample = subjects.slice(0, 100);
  for (const s of sample) {
    const res = await fetch(`${serviceUrl}/v2/bench/${s.repository}/referrers/${s.subject}`);
    const got = res.ok ? (await res.json()).manifests : [];
    const want = s.referrers.map((r) => r.descriptor).sort((a, b) => (a.digest < b.digest ? -1 : 1));
    // Same descriptors; annotation key order is not significant (jsonb normalises it).
    if (canonical(got) !== canonical(want)) {
      mismatches++;
      first ??= `${s.subject}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`;
    }
  }
  return {
    check: `refgraph's referrers API lists exactly the registry's tag-schema index (${sample.length} subjects)`,
    ok: mismatches === 0,
    detail: mismatches ? `${mismatches} differ; first: ${first}` : '',
  };
}

/**
 * The registry view serves the bytes the registry holds: each request pair (view, registry)
 * answers 200 with the same body.
 */
export async function sameViewBytes(serviceUrl, registryUrl, pairs) {
  let mismatches = 0;
  let first;
  for (const { view, direct, headers } of pairs) {
    const [a, b] = await Promise.all([
      fetch(`${serviceUrl}${view}`, { headers }),
      fetch(`${registryUrl}${direct}`, { headers }),
    ]);
    const [x, y] = await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    if (a.status !== 200 || b.status !== 200 || !Buffer.from(x).equals(Buffer.from(y))) {
      mismatches++;
      first ??= `${view}: ${a.status} (${x.byteLength} bytes) vs ${b.status} (${y.byteLength} bytes)`;
    }
  }
  return {
    check: `the registry view serves the registry's bytes (${pairs.length} manifests and blobs)`,
    ok: mismatches === 0,
    detail: mismatches ? `${mismatches} differ; first: ${first}` : '',
  };
}

/**
 * EXPLAIN ANALYZE of the hot query on 30 random image keys: median execution time, and the plan
 * of the median one.
 */
export async function explainReferrers(sql, keys) {
  const sample = keys.filter((_, i) => i % 100 < 70).slice(0, 30);
  const runs = [];
  for (const k of sample) {
    const { rows } = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${REFERRERS_SQL}`, [
      k.registry,
      k.repository,
      k.digest,
      '',
      null,
      501,
    ]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    const exec = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1]);
    const planning = Number(/Planning Time: ([\d.]+) ms/.exec(plan)?.[1]);
    runs.push({ exec, planning, plan });
  }
  runs.sort((a, b) => a.exec - b.exec);
  const mid = runs[Math.floor(runs.length / 2)];
  return { executionMs: mid.exec, planningMs: mid.planning, plan: mid.plan };
}

/** Waits until `expected` webhook events in total are no longer pending. */
export async function waitForEvents(sql, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql.query(
      `SELECT count(*) FILTER (WHERE status <> 'pending')::int AS finished,
              count(*) FILTER (WHERE status = 'failed')::int AS failed FROM webhook_event`,
    );
    if (rows[0].finished >= expected) return { failed: rows[0].failed, timedOut: false };
    if (Date.now() > deadline) return { failed: rows[0].failed, timedOut: true };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Distribution notification envelopes as 2.8 sends them (one event each, its media type,
 * a bearer token), every one a new event id and digest so each is durably stored.
 */
export function webhookRequests(token, repos) {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  return () => {
    const i = n++;
    const repo = repos[i % repos.length];
    const digest = `sha256:${(run + i.toString(16)).padStart(64, '0')}`;
    const body = JSON.stringify({
      events: [
        {
          id: `${run}-${i}`,
          timestamp: new Date().toISOString(),
          action: 'push',
          target: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            size: 1403,
            digest,
            length: 1403,
            repository: repo,
            url: `http://127.0.0.1:5000/v2/${repo}/manifests/${digest}`,
            tag: 'latest',
          },
          request: {
            id: `${run}-${i}`,
            addr: '127.0.0.1:41234',
            host: '127.0.0.1:5000',
            method: 'PUT',
            useragent: 'bench',
          },
          actor: {},
          source: { addr: 'registry:5000', instanceID: run },
        },
      ],
    });
    return {
      method: 'POST',
      path: '/webhooks/bench',
      headers: {
        'content-type': 'application/vnd.docker.distribution.events.v1+json',
        authorization: `Bearer ${token}`,
      },
      body,
    };
  };
}

/**
 * Both servers answer each request ({ method, path, headers, body }) with the same status and the
 * same JSON (key order aside).
 */
export async function sameRestAnswers(
  label,
  aUrl,
  bUrl,
  requests,
  servers = 'refgraph and bare fastify + pg',
) {
  let mismatches = 0;
  let failures = 0;
  let first;
  for (const r of requests) {
    const init = { method: r.method ?? 'GET', headers: r.headers, body: r.body };
    const [a, b] = await Promise.all([fetch(aUrl + r.path, init), fetch(bUrl + r.path, init)]);
    const [ta, tb] = await Promise.all([a.text(), b.text()]);
    if (a.status !== 200) failures++;
    if (a.status !== b.status || canonical(JSON.parse(ta)) !== canonical(JSON.parse(tb))) {
      mismatches++;
      first ??= `${r.method ?? 'GET'} ${r.path}: ${a.status} ${ta.slice(0, 160)} vs ${b.status} ${tb.slice(0, 160)}`;
    }
  }
  return {
    check: `${servers} give the same answers (${label}, ${requests.length} requests, all 200)`,
    ok: mismatches === 0 && failures === 0,
    detail:
      mismatches || failures
        ? `${mismatches} differ, ${failures} not 200; first: ${first ?? '(status only)'}`
        : '',
  };
}

/**
 * Every key of the Gatekeeper batches names an image refgraph knows (it resolves to a digest),
 * so the runs measure verdicts, not the refusal of an unknown registry.
 */
export async function gatekeeperKeysResolve(serviceUrl, requests) {
  let keys = 0;
  let resolved = 0;
  let firstError;
  for (const r of requests) {
    const res = await fetch(serviceUrl + r.path, { method: r.method, headers: r.headers, body: r.body });
    const items = (await res.json()).response?.items ?? [];
    keys += items.length;
    for (const item of items) {
      if (item.value?.digest) resolved++;
      else firstError ??= `${item.key}: ${item.error}`;
    }
  }
  return {
    check: `Gatekeeper batch keys resolve to digests (${resolved} of ${keys})`,
    ok: keys > 0 && resolved === keys,
    detail: firstError ? `first unresolved: ${firstError}` : '',
  };
}

/**
 * SQL statements per request, from the database's own count of committed transactions (each
 * statement outside BEGIN is one): the request is sent `n` times, one at a time, to a server that
 * does nothing else, and the same interval with no requests is subtracted. Backends report their
 * counts when idle within 10 s, hence the waits. Autovacuum's transactions count too, and after
 * the bulk writes of the earlier runs they came in bursts the idle interval did not cancel:
 * autovacuum is paused for the measurement, running workers are waited for, and the lowest of
 * `repeats` estimates is kept. Every parallel worker a statement launches commits two transactions
 * of its own, its start-up's catalog reads and its share of the statement (at 1M artifacts one
 * worker per page: 5.1 "statements" where the service sent 3, each seen in the statement log; with
 * parallelism forced, 3 statements × 2 workers gave 15.1); on Postgres 18, whose pg_stat_database
 * counts launched workers, they are subtracted and reported apart.
 */
export async function countStatements(sql, serviceUrl, next, n, repeats = 2) {
  const workersCounted = (
    await sql.query(
      `SELECT count(*)::int AS n FROM pg_attribute
        WHERE attrelid = 'pg_catalog.pg_stat_database'::regclass AND attname = 'parallel_workers_launched'`,
    )
  ).rows[0].n;
  const counts = async () => {
    const { rows } = await sql.query(
      `SELECT xact_commit::int AS commits, ${workersCounted ? 'parallel_workers_launched::int' : '0'} AS workers
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    return rows[0];
  };
  const settle = () => new Promise((r) => setTimeout(r, 11_000));
  const paused = await setAutovacuum(sql, false);
  try {
    let best = { perRequest: Infinity, parallelWorkers: 0 };
    for (let round = 0; round < repeats; round++) {
      await settle();
      const a = await counts();
      await settle();
      const b = await counts();
      for (let i = 0; i < n; i++) {
        const r = next();
        const res = await fetch(serviceUrl + r.path, { method: r.method, headers: r.headers, body: r.body });
        const body = await res.json();
        if (res.status !== 200 || body.errors)
          throw new Error(`${r.path}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      }
      await settle();
      const c = await counts();
      const perRequest = (key) => (c[key] - b[key] - (b[key] - a[key])) / n;
      const workers = perRequest('workers');
      const statements = perRequest('commits') - 2 * workers;
      if (statements < best.perRequest) best = { perRequest: statements, parallelWorkers: workers };
    }
    return { ...best, workersCounted: workersCounted > 0, autovacuumPaused: paused };
  } finally {
    if (paused) await setAutovacuum(sql, true);
  }
}

/** Turns autovacuum off or on (superuser only); with off, waits up to a minute for running workers. */
async function setAutovacuum(sql, on) {
  try {
    await sql.query(`ALTER SYSTEM SET autovacuum = ${on ? 'on' : 'off'}`);
    await sql.query(`SELECT pg_reload_conf()`);
  } catch {
    return false;
  }
  if (on) return true;
  for (let i = 0; i < 60; i++) {
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`,
    );
    if (rows[0].n === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return true;
}

function canonical(v) {
  const sortKeys = (o) =>
    Array.isArray(o)
      ? o.map(sortKeys)
      : o && typeof o === 'object'
        ? Object.fromEntries(
            Object.keys(o)
              .sort()
              .map((k) => [k, sortKeys(o[k])]),
          )
        : o;
  return JSON.stringify(sortKeys(v));
}
