/**
 * Bounded concurrency for heavy answers: routes declare `heavy` in their config, like their access
 * policy, naming their class — `admission` (verdicts, Gatekeeper batches) or `explore` (GraphQL
 * operations, the fleet vulnerability answer). Each class has its own gate, so a dashboard burst
 * never queues an admission request. At most `concurrency` answers of a class run at once per
 * process; the rest wait, fairly between clients (HeavyGate), up to `queue` waiting and
 * `maxWaitMs` each, and beyond that get 503 with Retry-After — a policy engine denies on it (fail
 * closed) instead of the process growing past its heap under a burst.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { limitKey, type AuthedRequest } from '../auth/auth.hook.js';

export interface HeavyGateOptions {
  concurrency: number;
  queue: number;
  maxWaitMs: number;
}

type Outcome = 'run' | 'full' | 'timeout' | 'gone';

interface Waiter {
  wake(o: Outcome): void;
}

/**
 * A counting semaphore whose waiters are served fairly across clients: each client (its rate-limit
 * key: token name, else address) waits in a line of its own, and a freed slot goes to the lines
 * in turn, so one client's burst delays another client's answer by at most one answer per client
 * waiting. When the queue is full, a newcomer whose line is shorter than the longest line takes
 * the place of that line's newest waiter (refused 'full'): a flood fills only its own share.
 */
export class HeavyGate {
  private running = 0;
  private waitingCount = 0;
  /** Each client's waiters, oldest first; the map's order is the turn order. */
  private readonly lines = new Map<string, Waiter[]>();

  constructor(private readonly opts: HeavyGateOptions) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waitingCount;
  }

  /**
   * Resolves 'run' once a slot is held (the caller must release it), else why not: the queue is
   * full, the wait bound passed, or `signal` aborted while waiting ('gone': no slot is held).
   */
  acquire(client: string, signal?: AbortSignal): Promise<Outcome> {
    if (signal?.aborted) return Promise.resolve('gone');
    if (this.running < this.opts.concurrency) {
      this.running++;
      return Promise.resolve('run');
    }
    if (this.waitingCount >= this.opts.queue && !this.evictFor(client)) return Promise.resolve('full');
    return new Promise<Outcome>((resolve) => {
      const leave = (o: Outcome) => {
        this.remove(client, waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(o);
      };
      const onAbort = () => leave('gone');
      const timer = setTimeout(() => leave('timeout'), this.opts.maxWaitMs);
      timer.unref();
      const waiter: Waiter = { wake: leave };
      signal?.addEventListener('abort', onAbort, { once: true });
      const line = this.lines.get(client);
      if (line) line.push(waiter);
      else this.lines.set(client, [waiter]);
      this.waitingCount++;
    });
  }

  /** Hands the slot to the oldest waiter of the next line in turn, or frees it. */
  release(): void {
    const next = this.lines.entries().next();
    if (next.done) {
      this.running--;
      return;
    }
    const [client, line] = next.value;
    line[0]!.wake('run'); // off its line, which goes when empty
    // A line still waiting goes to the back of the turn order.
    if (this.lines.get(client) === line) {
      this.lines.delete(client);
      this.lines.set(client, line);
    }
  }

  /** Refuses the newest waiter of the longest line when it is longer than `client`'s. */
  private evictFor(client: string): boolean {
    const own = this.lines.get(client)?.length ?? 0;
    let longest: Waiter[] | undefined;
    for (const line of this.lines.values()) if (!longest || line.length > longest.length) longest = line;
    if (!longest || longest.length <= own + 1) return false;
    longest[longest.length - 1]!.wake('full');
    return true;
  }

  private remove(client: string, waiter: Waiter): void {
    const line = this.lines.get(client);
    const at = line?.indexOf(waiter) ?? -1;
    if (!line || at < 0) return;
    line.splice(at, 1);
    this.waitingCount--;
    if (line.length === 0) this.lines.delete(client);
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
    const client = limitKey((req as AuthedRequest).refgraphPrincipal, req.ip);
    const outcome = await gate.acquire(client, gone.signal);
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
