import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './net.mjs';

/**
 * A Node server as a child process of its own, so its RSS is its own. Resolves once `readyPath`
 * answers 2xx; stop() sends SIGTERM (SIGKILL after a grace period) and waits for the exit.
 */
export async function startNodeServer({
  name,
  script,
  env,
  port,
  readyPath = '/healthz',
  log,
  nodeFlags = [],
}) {
  const child = spawn(process.execPath, [...nodeFlags, script], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c) => {
    stderr = (stderr + c).slice(-8000);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitFor(`${url}${readyPath}`, { timeoutMs: 180_000 }),
      exited.then((e) => {
        throw new Error(`${name} exited during start-up (${JSON.stringify(e)}): ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  log?.(`${name} up on ${url} (pid ${child.pid})`);
  let stopping;
  return {
    name,
    url,
    pid: child.pid,
    stderr: () => stderr,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      })()),
  };
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every 100 ms; stop() returns the peak seen. */
export function sampleRss(pid) {
  let peak = rssMiB(pid) || 0;
  const timer = setInterval(() => {
    const v = rssMiB(pid);
    if (v > peak) peak = v;
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      const v = rssMiB(pid);
      return Math.max(peak, v || 0);
    },
  };
}

/**
 * CPU seconds (user + system) a process has used, with those of its children that have exited
 * (a postmaster's backends), from /proc (Linux); NaN when it cannot be read.
 */
export function cpuSeconds(pid, { children = false } = {}) {
  const f = statFields(pid);
  if (!f) return NaN;
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  // USER_HZ is 100 on Linux whatever the kernel's tick rate.
  return ticks / 100;
}

/** The fields of /proc/<pid>/stat after the command name (the 3rd on), or undefined. */
function statFields(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process and its whole tree: its exited children's (cpuSeconds) and the live
 * children's own (a postmaster's backends that are still connected). Linux only; NaN otherwise.
 */
export function treeCpuSeconds(pid) {
  let total = cpuSeconds(pid, { children: true });
  let entries;
  try {
    entries = readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d));
  } catch {
    return NaN;
  }
  // A child that exited while listed has no stat file any more: skipped.
  for (const d of entries) if (Number(statFields(d)?.[1]) === pid) total += cpuSeconds(d);
  return total;
}

/** Samples a process's CPU seconds every 100 ms: a process that has exited can no longer be read. */
export function sampleCpu(pid) {
  let last = cpuSeconds(pid);
  const timer = setInterval(() => {
    const v = cpuSeconds(pid);
    if (Number.isFinite(v)) last = v;
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      const v = cpuSeconds(pid);
      return Number.isFinite(v) ? v : last;
    },
  };
}
