import os from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';

export const RESULTS_PATH = 'bench/RESULTS.md';
const START = '<!-- measured:start (rewritten by npm run bench) -->';
const END = '<!-- measured:end -->';

const n0 = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const ms = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '–');
const x = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');
const mib = (v) => (Number.isFinite(v) ? `${Math.round(v)} MiB` : '–');
const met = (ok) => (ok === undefined ? '' : ok ? 'yes' : '**no**');

/** Renders the measured section and, unless told not to, puts it into RESULTS.md. */
export async function writeResults(results, { write = true } = {}) {
  const text = render(results);
  if (write) {
    let doc;
    try {
      doc = await readFile(RESULTS_PATH, 'utf8');
    } catch {
      doc = `# Benchmark results\n\n${START}\n${END}\n`;
    }
    const a = doc.indexOf(START);
    const b = doc.indexOf(END);
    doc =
      a >= 0 && b > a
        ? `${doc.slice(0, a + START.length)}\n${text}\n${doc.slice(b)}`
        : `${doc}\n${START}\n${text}\n${END}\n`;
    // Written as the repository's formatter would (lint checks it).
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(RESULTS_PATH)) ?? {};
    await writeFile(RESULTS_PATH, await prettier.format(doc, { ...options, filepath: RESULTS_PATH }));
  }
  return text;
}

function render(r) {
  const R = r.runs;
  const L = r.sizes[r.sizes.length - 1];
  const main = R[`referrers@${L}`];
  const lines = [];
  const row = (cells) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push(
    `Last run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${r.machine.cpus}, ${r.machine.memGiB} GiB · ` +
      `Node ${r.machine.node} · Postgres ${r.machine.postgres} · ${r.connections} connections, ${r.duration} s per run ` +
      `after a 2 s warm-up · largest graph ${L.toLocaleString('en-US')} artifacts · whole run ${Math.round(r.totalSeconds)} s`,
  );
  lines.push('');
  lines.push('### Throughput and latency (largest graph)');
  lines.push('');
  row(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS', 'ratio vs baseline', 'target', 'met?']);
  row(['---', '---:', '---:', '---:', '---:', '---', '---', '---']);
  const line = (run, ratio, target, ok) =>
    run &&
    row([run.label, n0(run.rps), ms(run.p50), ms(run.p99), mib(run.peakRssMiB), ratio, target, met(ok)]);
  const vs = (a, b, name) => (a && b ? `${x(a.rps / b.rps)} ${name}` : '–');
  /** A run against its baseline, met when its throughput is at least `floor` times the baseline's. */
  const against = (run, base, name, floor) =>
    line(run, vs(run, base, name), `≥ ${floor}× ${name}`, run && run.rps / base?.rps >= floor);
  against(main, R['bare-referrers'], 'bare', 0.85);
  line(R['bare-referrers'], 'baseline (stack limit)', '', undefined);
  const rs = R['referrers-regsubjects'];
  line(
    rs,
    `${vs(rs, R.registry, 'registry')}; ${vs(rs, R['bare-regsubjects'], 'bare')}`,
    '≥ 2× registry; ≥ 0.85× bare',
    rs && rs.rps / R.registry?.rps >= 2 && rs.rps / R['bare-regsubjects']?.rps >= 0.85,
  );
  line(R.registry, 'baseline (what clients do today)', '', undefined);
  line(R['bare-regsubjects'], 'baseline (stack limit)', '', undefined);
  against(R.hot, R['bare-hot'], 'bare', 0.85);
  line(R['bare-hot'], 'baseline (stack limit)', '', undefined);
  against(R['view-manifest'], R['registry-manifest'], 'registry', 1);
  line(R['registry-manifest'], 'baseline (the registry itself)', '', undefined);
  against(R['view-blob'], R['registry-blob'], 'direct', 0.5);
  line(R['registry-blob'], 'baseline (ceiling: the proxy makes this request)', '', undefined);
  const one = R[`referrers-1c@${L}`];
  const bareOne = R['bare-referrers-1c'];
  line(one, one && bareOne ? `p50 ${x(one.p50 / bareOne.p50)} bare's` : '–', '', undefined);
  line(bareOne, 'baseline (stack limit)', '', undefined);
  against(R['rest-referrers'], R['bare-rest-referrers'], 'bare', 0.85);
  line(R['bare-rest-referrers'], 'baseline (stack limit)', '', undefined);
  line(R['rest-summary'], vs(R['rest-summary'], R['bare-rest-summary'], 'bare'), '', undefined);
  line(R['bare-rest-summary'], 'baseline (stack limit)', '', undefined);
  line(R.verdict, vs(R.verdict, R['bare-verdict'], 'bare'), '', undefined);
  line(R['bare-verdict'], 'baseline (stack limit)', '', undefined);
  const gk = R.gatekeeper;
  line(gk, vs(gk, R['bare-gatekeeper'], 'bare'), 'p99 < 50 ms', gk && gk.p99 < 50);
  line(R['bare-gatekeeper'], 'baseline (stack limit)', '', undefined);
  const gk1 = R['gatekeeper-1c'];
  line(gk1, '', 'p99 < 50 ms', gk1 && gk1.p99 < 50);
  const gq = R.graphql;
  const restRef = R['rest-referrers'];
  const perArtifact = gq && restRef ? (gq.rps * 50) / restRef.rps : undefined;
  const stmts = r.graphqlStatements;
  const workers = r.graphqlParallelWorkers;
  line(
    gq,
    `${x(perArtifact)} REST referrers, per artifact; ${Number.isFinite(stmts) ? stmts.toFixed(1) : '–'} SQL statements per page` +
      (Number.isFinite(workers) ? ` (+${workers.toFixed(1)} parallel workers)` : ''),
    '≥ 0.5× REST; ≤ 3 statements',
    gq && perArtifact >= 0.5 && stmts <= 3,
  );
  line(
    R.accept,
    vs(R.accept, R['bare-accept'], 'bare'),
    '≥ 3,000 events/s',
    R.accept && R.accept.rps >= 3000,
  );
  line(R['bare-accept'], 'baseline (stack limit)', '', undefined);
  const a1 = R['accept-1c'];
  line(a1, vs(a1, R['bare-accept-1c'], 'bare'), '', undefined);
  line(R['bare-accept-1c'], 'baseline (stack limit)', '', undefined);

  const e = R.e2e;
  if (e) {
    row([
      `${e.label} (${e.manifests} manifests${e.failed ? `, ${e.failed} failed` : ''}${e.timedOut ? ', TIMED OUT' : ''})`,
      n0(e.rps),
      '–',
      '–',
      mib(e.peakRssMiB),
      `${x(e.rps / e.pushRps)} the registry's push rate (${n0(e.pushRps)}/s)`,
      "≥ 0.8× the registry's push rate",
      met(e.rps / e.pushRps >= 0.8 && !e.timedOut),
    ]);
  }
  const sy = R.sync;
  if (sy) {
    row([
      `${sy.label}: manifests walked per second`,
      n0(sy.rps),
      '–',
      '–',
      mib(sy.peakRssMiB),
      R['bare-sync'] ? `${x(sy.rps / R['bare-sync'].rps)} bare crawl` : '–',
      '≥ 0.8× bare crawl',
      met(R['bare-sync'] && sy.rps / R['bare-sync'].rps >= 0.8),
    ]);
    const bs = R['bare-sync'];
    const each = bs?.runsSeconds ? ` (${bs.runsSeconds.map((v) => `${v.toFixed(1)} s`).join(', ')})` : '';
    if (bs) row([bs.label, n0(bs.rps), '–', '–', '–', `baseline (what the registry allows)${each}`, '', '']);
    const sv = R['sync-verify'];
    if (sv) {
      const note = `${sv.done}/${sv.jobs} in ${sv.seconds.toFixed(1)} s${sv.retrying ? `, ${sv.retrying} retrying` : ''}`;
      row([
        `${sv.label}: verifications per second`,
        n0(sv.rps),
        '–',
        '–',
        '–',
        note,
        '',
        sv.timedOut ? '**timed out**' : '',
      ]);
    }
  }
  if (sy?.cpu && R['bare-sync']?.cpu) {
    const c = sy.cpu;
    const b = R['bare-sync'].cpu;
    const s = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} s` : '–');
    lines.push('');
    lines.push(
      `CPU on the same cores (2 here), sync: the CLI ${s(c.cli)}, the registry ${s(c.registry)}, ` +
        `Postgres ${s(c.postgres)} in ${sy.seconds.toFixed(1)} s; bare crawl: the crawler ${s(b.crawler)}, ` +
        `the registry ${s(b.registry)} in ${R['bare-sync'].seconds.toFixed(1)} s.`,
    );
  }
  if (e && Number.isFinite(e.lastReceivedMs)) {
    lines.push('');
    lines.push(
      `End to end, from the first manifest PUT: pushes finished at ${(e.pushSeconds * 1000).toFixed(0)} ms; ` +
        `the registry delivered the first notification at ${e.firstReceivedMs.toFixed(0)} ms and the last at ` +
        `${e.lastReceivedMs.toFixed(0)} ms; the last event was processed at ${e.lastProcessedMs.toFixed(0)} ms. ` +
        `Received → processed per event: p50 ${ms(e.processWaitP50Ms)} ms, p99 ${ms(e.processWaitP99Ms)} ms.`,
    );
    if (Number.isFinite(e.answerMs) && e.deliveries > 1) {
      const cycle = (e.lastReceivedMs - e.firstReceivedMs) / (e.deliveries - 1);
      lines.push('');
      lines.push(
        `Per delivery (${n0(e.deliveries)} in all, one at a time): the registry sent one every ${ms(cycle)} ms; ` +
          `refgraph took ${ms(e.answerMs)} ms of it from request to answer (its request histogram), ` +
          `the rest (${ms(cycle - e.answerMs)} ms) is the registry's side and the network between.`,
      );
    }
    if (e.cpu) {
      const s = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} s` : '–');
      const used = Object.values(e.cpu).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      const cores = os.cpus().length;
      lines.push('');
      lines.push(
        `CPU while the pipeline ran (${e.seconds.toFixed(1)} s on ${cores} cores: ${(e.seconds * cores).toFixed(1)} core-seconds): ` +
          `the registry ${s(e.cpu.registry)}, refgraph ${s(e.cpu.refgraph)}, Postgres ${s(e.cpu.postgres)}, ` +
          `the pusher ${s(e.cpu.pusher)}: ${((100 * used) / (e.seconds * cores)).toFixed(0)} % of the machine.`,
      );
    }
    if (Number.isFinite(e.commitsPerSecond)) {
      // The registry sends one notification per push and waits for each answer, which follows a commit.
      lines.push('');
      lines.push(
        `Ceiling for a sender that waits for each answer: one client's durable commits on this database, ` +
          `**${n0(e.commitsPerSecond)}/s** (${x(e.commitsPerSecond / e.pushRps)} the registry's push rate); ` +
          `refgraph delivered ${x(e.rps / e.commitsPerSecond)} of that ceiling.`,
      );
    }
  }
  const own = Object.entries(R).filter(
    ([k, v]) => !k.startsWith('bare') && !k.startsWith('registry') && Number.isFinite(v.peakRssMiB),
  );
  const peakOf = (runs) => Math.max(...runs.map(([, v]) => v.peakRssMiB));
  // Webhook accept (and the GraphQL statement count) and the read-replica runs are the api role
  // alone; sync is the CLI.
  const apiRole = (k) => k.startsWith('accept') || k.startsWith('replica-');
  const apiOnly = own.filter(([k]) => apiRole(k));
  const allRoles = own.filter(([k]) => !apiRole(k) && k !== 'sync');
  const peak = peakOf(allRoles);
  const apiPeak = apiOnly.length ? peakOf(apiOnly) : NaN;
  const mb = (v) => v * 1.048576;
  lines.push('');
  lines.push(
    `Peak RSS of the all-roles refgraph process across its runs: **${mib(peak)}** (target < 300 MB: ${met(mb(peak) < 300)}); ` +
      `the api role alone: **${mib(apiPeak)}** (target < 200 MB: ${met(Number.isFinite(apiPeak) ? mb(apiPeak) < 200 : undefined)}); ` +
      `the sync CLI: ${mib(R.sync?.peakRssMiB)}. Bare server peak: ${mib(
        Math.max(
          ...Object.entries(R)
            .filter(([k]) => k.startsWith('bare'))
            .map(([, v]) => v.peakRssMiB ?? 0),
        ),
      )}. ` +
      `refgraph runs with the container image's heap settings (\`${(r.nodeOptions ?? []).join(' ') || 'none'}\`).`,
  );

  if (r.replica) renderReplica(r, row, line, lines);

  lines.push('');
  lines.push('### How cost grows with the graph (OCI referrers API, random keys)');
  lines.push('');
  row([
    'artifacts',
    'edges',
    'generated in',
    'req/s (50 conn.)',
    'p50 (50 conn.)',
    'p50 (1 conn.)',
    'SQL execution (EXPLAIN ANALYZE, median)',
  ]);
  row(['---:', '---:', '---:', '---:', '---:', '---:', '---:']);
  for (const s of r.scaling) {
    row([
      n0(s.artifacts),
      n0(s.edges),
      `${s.genSeconds.toFixed(0)} s`,
      n0(s.rps),
      `${ms(s.p50)} ms`,
      `${ms(s.p50single)} ms`,
      `${ms(s.execMs)} ms`,
    ]);
  }
  if (r.scaling.length > 1) {
    const first = r.scaling[0];
    const last = r.scaling[r.scaling.length - 1];
    const g1 = last.p50single / first.p50single;
    const g50 = last.p50 / first.p50;
    lines.push('');
    lines.push(
      `p50 at ${n0(last.artifacts)} vs ${n0(first.artifacts)} artifacts: ${x(g1)} on one connection (per-request cost), ` +
        `${x(g50)} at ${r.connections} connections (target ≤ 1.2×: ${met(g1 <= 1.2 && g50 <= 1.2)}).`,
    );
  }

  lines.push('');
  lines.push('### Checks made before measuring');
  lines.push('');
  for (const c of r.checks)
    lines.push(`- ${c.ok ? 'ok' : '**FAILED**'}: ${c.check}${c.detail ? ` — ${c.detail}` : ''}`);

  const plan = r.explain[L];
  if (plan) {
    lines.push('');
    lines.push(
      `<details><summary>EXPLAIN (ANALYZE, BUFFERS) of the referrers query, median of 30 image keys, ${n0(L)} artifacts</summary>`,
    );
    lines.push('');
    lines.push('```');
    lines.push(plan.plan);
    lines.push('```');
    lines.push('</details>');
  }
  return lines.join('\n');
}

/** The api role reading from a streaming standby, each scenario against the same on the primary. */
function renderReplica(r, row, line, lines) {
  const f = r.replica;
  const R = r.runs;
  lines.push('');
  lines.push(`### Reads from a streaming standby (api role, 1 connection, ${n0(f.artifacts)} artifacts)`);
  lines.push('');
  row(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS', 'standby vs primary', 'target', 'met?']);
  row(['---', '---:', '---:', '---:', '---:', '---', '---', '---']);
  for (const name of ['referrers', 'verdict', 'gatekeeper']) {
    const s = R[`replica-standby-${name}`];
    const p = R[`replica-primary-${name}`];
    const ratio = s && p ? `${x(s.rps / p.rps)} req/s, ${x(s.p50 / p.p50)} p50` : '–';
    line(s, ratio, '≥ 0.9× req/s (not slower)', s && p && s.rps / p.rps >= 0.9);
    line(p, 'baseline (reads on the primary)', '', undefined);
  }
  const t = f.transactions ?? {};
  const q = f.readQueries ?? {};
  const onPrimary = q.primary ?? 0;
  const onStandby = Object.entries(q).reduce((sum, [k, v]) => (k === 'primary' ? sum : sum + v), 0);
  lines.push('');
  lines.push(
    `Primary and standby from \`libs/testing/src/streaming-replica.ts\` (PostgreSQL ${f.postgres}, fsync off), ` +
      `up in ${f.pairStartSeconds.toFixed(1)} s; the standby had replayed the load ${f.replaySeconds.toFixed(1)} s after it. ` +
      `Both api processes ran side by side, each scenario measured on one and then the other (alternating order). ` +
      `Replica lag as refgraph measured it: ${f.lagSeconds} s before the runs, ${f.lagSecondsAfter} s after ` +
      `(${n0(f.lagBytesAfter)} bytes of WAL not replayed). Committed transactions (pg_stat_database) over the scenario: ` +
      `primary ${n0(t.primary)}, standby ${n0(t.standby)}; read statements of the api reading from the standby ` +
      `(refgraph_read_queries_total): standby ${n0(onStandby)}, primary ${n0(onPrimary)}.`,
  );
}
