// node bench/accept-steps.mjs <profile.cpuprofile> <deliveries>: where the api role's CPU goes per
// webhook delivery, from a V8 CPU profile taken while only a serial sender was talking to it
// (node bench/serial.mjs with BENCH_PROFILE=dir). Each sample is charged to the innermost frame
// on its stack that belongs to a step below, so the steps add up to the CPU time of the window
// between the first and the last sample inside the webhook route.
import { readFileSync } from 'node:fs';

/** [step, test on a call frame]; the first step that matches the innermost frame wins. */
const STEPS = [
  ['database driver (pg: serialise, parse)', (f) => /node_modules\/(pg|pg-protocol|pg-pool)\//.test(f.url)],
  [
    'logging (pino)',
    (f) => /node_modules\/(pino|sonic-boom|thread-stream)/.test(f.url) || /log-sampler/.test(f.url),
  ],
  ['metrics (prom-client)', (f) => /node_modules\/prom-client\//.test(f.url)],
  ['body validation (zod)', (f) => /node_modules\/zod\//.test(f.url)],
  ['auth (bearer / HMAC)', (f) => /webhooks\/src\/internal\/auth\.js/.test(f.url)],
  ['adapter (envelope, events)', (f) => /libs\/webhooks\/src\//.test(f.url)],
  ['inbox rows and insert values', (f) => /libs\/store\/src\//.test(f.url)],
  ['receiver and route', (f) => /apps\/server\/src\/webhooks\//.test(f.url)],
  ['route policy (onRequest hook, limiter)', (f) => /apps\/server\/src\/(auth|http)\//.test(f.url)],
  ['other refgraph code', (f) => /\/(apps|libs)\//.test(f.url) && !/node_modules/.test(f.url)],
  [
    'fastify (routing, hooks, reply)',
    (f) => /node_modules\/(fastify|find-my-way|light-my-request|avvio|@fastify)\//.test(f.url),
  ],
  ['nest', (f) => /node_modules\/@nestjs\//.test(f.url)],
  ['other packages', (f) => /node_modules\//.test(f.url)],
  [
    'node HTTP (parse, write)',
    (f) => /^node:_http|^node:http/.test(f.url) || /^parserOn/.test(f.functionName),
  ],
  ['node sockets and streams', (f) => /^node:(net|internal\/stream|stream|internal\/streams)/.test(f.url)],
  ['node crypto', (f) => /^node:(crypto|internal\/crypto)/.test(f.url)],
  [
    'node timers, promises, ticks',
    (f) => /^node:internal\/(timers|process\/task_queues|async_hooks)/.test(f.url),
  ],
  ['node other', (f) => /^node:/.test(f.url)],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['native / program', (f) => f.functionName === '(program)' || f.functionName === '(root)'],
];
/** A frame that runs only while a delivery is handled (the route's plugin also runs at start-up). */
const IN_ROUTE = (f) => f.functionName === 'receive' && /webhooks\/webhook\.receiver\.js$/.test(f.url);

/**
 * `afterPauseMs`: only the part after the profile's last stretch of idle samples at least that
 * long (so a run that pauses between a load and a serial sender accounts for the serial part).
 */
export function accountSteps(profile, { afterPauseMs } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stack = (id) => {
    const frames = [];
    for (let at = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at).callFrame);
    return frames;
  };
  const times = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) times.push((t += profile.timeDeltas[i] ?? 0));
  const stacks = new Map();
  const stackOf = (id) => stacks.get(id) ?? stacks.set(id, stack(id)).get(id);
  let from = 0;
  if (afterPauseMs !== undefined) {
    let idleSince = -1;
    profile.samples.forEach((id, i) => {
      const idle = stackOf(id)[0].functionName === '(idle)';
      if (idle && idleSince < 0) idleSince = times[i];
      if (!idle && idleSince >= 0) {
        if (times[i] - idleSince >= afterPauseMs * 1000) from = i;
        idleSince = -1;
      }
    });
  }
  let first = -1;
  let last = -1;
  profile.samples.forEach((id, i) => {
    if (i >= from && stackOf(id).some(IN_ROUTE)) {
      if (first < 0) first = i;
      last = i;
    }
  });
  const totals = new Map(STEPS.map(([s]) => [s, 0]));
  /** Per step, time by the frame that decided it (name@file:line), for --detail. */
  const frames = new Map(STEPS.map(([s]) => [s, new Map()]));
  let idle = 0;
  for (let i = Math.max(first, 1); i <= last; i++) {
    const stack = stackOf(profile.samples[i]);
    const us = times[i] - times[i - 1];
    if (stack[0].functionName === '(idle)') {
      idle += us;
      continue;
    }
    // Builtins (JSON.parse, RegExp exec: no url) are charged to the step that called them.
    const own = stack.filter((f) => f.url !== '' || f.functionName.startsWith('('));
    const at = own.findIndex((f) => STEPS.some(([, test]) => test(f)));
    const step = at < 0 ? 'native / program' : STEPS.find(([, test]) => test(own[at]))[0];
    totals.set(step, totals.get(step) + us);
    const f = own[Math.max(at, 0)] ?? stack[0];
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '')}:${f.lineNumber + 1}`;
    frames.get(step).set(key, (frames.get(step).get(key) ?? 0) + us);
  }
  return { totals, frames, idleUs: idle, windowUs: times[last] - times[first] };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [file, deliveries, ...flags] = process.argv.slice(2);
  const detail = flags.includes('--detail');
  const pause = flags.find((f) => f.startsWith('--after-pause='));
  if (!file || !(Number(deliveries) > 0)) {
    process.stderr.write(
      'usage: node bench/accept-steps.mjs <profile.cpuprofile> <deliveries> [--detail] [--after-pause=ms]\n',
    );
    process.exit(2);
  }
  const { totals, frames, idleUs, windowUs } = accountSteps(JSON.parse(readFileSync(file, 'utf8')), {
    ...(pause && { afterPauseMs: Number(pause.split('=')[1]) }),
  });
  const n = Number(deliveries);
  let cpu = 0;
  const rows = [...totals].filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]);
  for (const [, us] of rows) cpu += us;
  process.stdout.write(`| step | µs CPU per delivery | share |\n|---|---:|---:|\n`);
  for (const [step, us] of rows) {
    process.stdout.write(`| ${step} | ${(us / n).toFixed(0)} | ${((100 * us) / cpu).toFixed(0)} % |\n`);
    if (!detail) continue;
    for (const [f, fus] of [...frames.get(step)].sort((a, b) => b[1] - a[1]).slice(0, 6))
      process.stdout.write(`|   ${f} | ${(fus / n).toFixed(1)} | |\n`);
  }
  process.stdout.write(
    `| **CPU in all** | **${(cpu / n).toFixed(0)}** | |\n` +
      `| idle (waiting for the database or the sender) | ${(idleUs / n).toFixed(0)} | |\n` +
      `| window per delivery | ${(windowUs / n).toFixed(0)} | |\n`,
  );
}
