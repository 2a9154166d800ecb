/**
 * Bounded concurrency for heavy answers: routes declare `heavy` in their config, like their access
 * policy, naming their class — `admission` (verdicts, Gatekeeper batches) or `explore` (GraphQL
 * operations, the fleet vulnerability answer). Each class has its own gate, so a dashboard burst
 * never queues an admission request. At most `concurrency` answers of a class run at once per
 * process; the rest wait in order, up to `queue` waiting and `maxWaitMs` each, and beyond that get
 * 503 with Retry-After — a policy engine denies on it (fail closed) instead of the process growing
 * past its heap under a burst.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';

export interface HeavyGateOptions {
  concurrency: number;
  queue: number;
  maxWaitMs: number;
}

type Outcome = 'run' | 'full' | 'timeout' | 'gone';

export class HeavyGate {
  private running = 0;
  private readonly waiting: Array<(o: Outcome) => void> = [];

  constructor(private readonly opts: HeavyGateOptions) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves 'run' once a slot is held (the caller must release it), else why not: the queue is
   * full, the wait bound passed, or `signal` aborted while waiting ('gone': no slot is held).
   */
  acquire(signal?: AbortSignal): Promise<Outcome> {
    if (signal?.aborted) return Promise.resolve('gone');
    if (this.running < this.opts.concurrency) {
      this.running++;
      return Promise.resolve('run');
    }
    if (this.waiting.length >= this.opts.queue) return Promise.resolve('full');
    return new Promise<Outcome>((resolve) => {
      const leave = (o: Outcome) => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(o);
      };
      const onAbort = () => leave('gone');
      const timer = setTimeout(() => leave('timeout'), this.opts.maxWaitMs);
      timer.unref();
      // Handed a slot by release(): already off the queue.
      const wake = (o: Outcome) => leave(o);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(wake);
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next('run');
    else this.running--;
  }
}

export type HeavyClass = 'admission' | 'explore';
export const HEAVY_CLASSES: readonly HeavyClass[] = ['admission', 'explore'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's answers run under this class's heavy-answer gate (http/heavy-gate.ts). */
    heavy?: HeavyClass;
  }
}

/**
 * Gates every route whose config names a `heavy` class, after authentication (preHandler). The
 * slot is released when the response is done or the connection goes, whichever comes first.
 */
export function installHeavyGate(app: FastifyInstance, opts: HeavyGateOptions, registry?: Registry): void {
  const gates = new Map(HEAVY_CLASSES.map((c) => [c, new HeavyGate(opts)] as const));
  if (registry) {
    const each = (read: (g: HeavyGate) => number) =>
      function (this: Gauge<'class'>) {
        for (const [c, g] of gates) this.set({ class: c }, read(g));
      };
    new Gauge({
      name: 'refgraph_heavy_answers_in_flight',
      help: 'Heavy answers running now, by class (admission: verdicts, Gatekeeper; explore: GraphQL, vulnerability fleet)',
      labelNames: ['class'],
      registers: [registry],
      collect: each((g) => g.inFlight),
    });
    new Gauge({
      name: 'refgraph_heavy_answers_waiting',
      help: 'Heavy answers waiting for a slot, by class',
      labelNames: ['class'],
      registers: [registry],
      collect: each((g) => g.queued),
    });
  }
  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    const gate = req.routeOptions.config.heavy && gates.get(req.routeOptions.config.heavy);
    // A WebSocket handshake holds no answer: its operations are bounded by the socket limits.
    if (!gate || req.headers.upgrade) return;
    // The connection may go while the answer waits: the wait is then given up, and a slot
    // handed over meanwhile is freed at once (a client that left never holds one).
    const gone = new AbortController();
    let held = false;
    reply.raw.once('close', () => {
      gone.abort();
      if (held) gate.release();
      held = false;
    });
    const outcome = await gate.acquire(gone.signal);
    if (outcome === 'gone') return reply;
    if (outcome !== 'run') {
      return reply
        .status(503)
        .header('retry-after', '1')
        .send({
          error: {
            code: 'busy',
            message:
              outcome === 'full'
                ? 'too many answers are waiting here: retry shortly'
                : 'no answer slot came free in time: retry shortly',
            requestId: req.id,
          },
        });
    }
    if (gone.signal.aborted) {
      gate.release();
      return reply;
    }
    held = true;
  });
}
