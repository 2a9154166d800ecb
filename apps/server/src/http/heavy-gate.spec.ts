import { HeavyGate } from './heavy-gate.js';

/** Acquires for `client`, recording the order in which answers are handed slots. */
function waiter(gate: HeavyGate, client: string, served: string[], label: string) {
  return gate.acquire(client).then((o) => {
    if (o === 'run') served.push(label);
    return o;
  });
}

const flush = () => new Promise((r) => setImmediate(r));

describe('HeavyGate', () => {
  it('hands freed slots to the clients in turn, not in arrival order', async () => {
    const gate = new HeavyGate({ concurrency: 1, queue: 100, maxWaitMs: 60_000 });
    expect(await gate.acquire('a')).toBe('run');
    const served: string[] = [];
    const waits = [
      waiter(gate, 'a', served, 'a1'),
      waiter(gate, 'a', served, 'a2'),
      waiter(gate, 'a', served, 'a3'),
      waiter(gate, 'b', served, 'b1'),
      waiter(gate, 'c', served, 'c1'),
    ];
    expect(gate.queued).toBe(5);
    for (let i = 0; i < waits.length; i++) {
      gate.release();
      await flush();
    }
    expect(await Promise.all(waits)).toEqual(Array(5).fill('run'));
    expect(served).toEqual(['a1', 'b1', 'c1', 'a2', 'a3']);
    expect(gate.queued).toBe(0);
    expect(gate.inFlight).toBe(1);
    gate.release();
    expect(gate.inFlight).toBe(0);
  });

  it("a full queue takes a newcomer in place of the longest line's newest waiter", async () => {
    const gate = new HeavyGate({ concurrency: 1, queue: 3, maxWaitMs: 60_000 });
    await gate.acquire('flood');
    const served: string[] = [];
    const flood = [1, 2, 3].map((i) => waiter(gate, 'flood', served, `f${i}`));
    const other = waiter(gate, 'other', served, 'o1');
    expect(await flood[2]).toBe('full');
    expect(gate.queued).toBe(3);
    // Two waiting against one: neither a flood's next nor the other's second has a shorter line.
    expect(await gate.acquire('flood')).toBe('full');
    expect(await gate.acquire('other')).toBe('full');
    // A third client's line is shorter than the flood's: it takes the flood's newest place.
    const third = waiter(gate, 'third', served, 't1');
    expect(await flood[1]).toBe('full');
    expect(gate.queued).toBe(3);
    for (let i = 0; i < 3; i++) {
      gate.release();
      await flush();
    }
    expect(await Promise.all([flood[0], other, third])).toEqual(['run', 'run', 'run']);
    expect(served).toEqual(['f1', 'o1', 't1']);
  });

  it('refuses a newcomer when its line would be as long as the longest', async () => {
    const gate = new HeavyGate({ concurrency: 1, queue: 2, maxWaitMs: 60_000 });
    await gate.acquire('a');
    const served: string[] = [];
    const a = waiter(gate, 'a', served, 'a1');
    const b = waiter(gate, 'b', served, 'b1');
    expect(await gate.acquire('c')).toBe('full');
    expect(await gate.acquire('b')).toBe('full');
    gate.release();
    gate.release();
    expect(await Promise.all([a, b])).toEqual(['run', 'run']);
  });

  it('a waiter that leaves or times out gives up its place and never holds a slot', async () => {
    const gate = new HeavyGate({ concurrency: 1, queue: 10, maxWaitMs: 20 });
    await gate.acquire('a');
    const gone = new AbortController();
    const left = gate.acquire('b', gone.signal);
    const timedOut = gate.acquire('c');
    gone.abort();
    expect(await left).toBe('gone');
    expect(await timedOut).toBe('timeout');
    expect(gate.queued).toBe(0);
    gate.release();
    expect(gate.inFlight).toBe(0);
  });
});
