import autocannon from 'autocannon';
import { sampleRss } from './proc.mjs';

/**
 * Closed-loop load with autocannon: `connections` keep one request each in flight for
 * `duration` seconds after a warm-up. `next()` returns each request ({ path, method, headers,
 * body }), so keys are drawn at random per request. Latency percentiles are computed from every
 * response's own duration (autocannon's histogram rounds to whole milliseconds). Non-2xx
 * answers count as errors and are left out of the rates.
 */
export async function runLoad({ url, connections, duration, warmup = 2, next, rssPid }) {
  if (warmup > 0) await fire({ url, connections, duration: warmup, next });
  const rss = rssPid ? sampleRss(rssPid) : undefined;
  const r = await fire({ url, connections, duration, next });
  const peakRssMiB = rss?.stop();
  return { ...r, peakRssMiB };
}

/**
 * Two servers under the same load, measured in alternating halves A B B A after a warm-up of each:
 * a drift over the run (caches warming, autovacuum, a neighbour's burst) then weighs on both
 * alike instead of on whichever ran second. Each side's rate and percentiles are over both of its
 * halves; the result is [a, b], each shaped like runLoad's.
 */
export async function runLoadPair({ a, b, connections, duration, warmup = 2, next }) {
  for (const s of [a, b]) if (warmup > 0) await fire({ url: s.url, connections, duration: warmup, next });
  const half = duration / 2;
  const sides = [a, b].map((s) => ({ ...s, parts: [], rss: s.rssPid ? sampleRss(s.rssPid) : undefined }));
  for (const i of [0, 1, 1, 0]) {
    const side = sides[i];
    side.parts.push(await fire({ url: side.url, connections, duration: half, next, keep: true }));
  }
  return sides.map((side) => {
    const durations = side.parts.flatMap((p) => p.durations).sort((x, y) => x - y);
    return {
      requests: durations.length,
      rps: durations.length / side.parts.reduce((t, p) => t + p.measuredSeconds, 0),
      p50: pct(durations, 0.5),
      p99: pct(durations, 0.99),
      errors: side.parts.reduce((t, p) => t + p.errors, 0),
      seconds: duration,
      peakRssMiB: side.rss?.stop(),
    };
  });
}

function fire({ url, connections, duration, next, keep = false }) {
  return new Promise((resolve, reject) => {
    const durations = [];
    let non2xx = 0;
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        pipelining: 1,
        timeout: 10,
        requests: [
          {
            setupRequest: (req) => {
              const r = next();
              req.method = r.method ?? 'GET';
              req.path = r.path;
              req.headers = r.headers ?? {};
              if (r.body !== undefined) req.body = r.body;
              else delete req.body;
              return req;
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        durations.sort((a, b) => a - b);
        resolve({
          requests: durations.length,
          rps: durations.length / Math.min(seconds, duration),
          p50: pct(durations, 0.5),
          p99: pct(durations, 0.99),
          errors: result.errors + result.timeouts + non2xx,
          seconds: duration,
          ...(keep ? { durations, measuredSeconds: Math.min(seconds, duration) } : {}),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) durations.push(responseTime);
      else non2xx++;
    });
  });
}

function pct(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Uniformly random element. */
export function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}
