import { GroupCommit } from './group-commit.js';

interface WriteCall<T, R> {
  items: T[];
  resolve: (results: R[]) => void;
  reject: (err: unknown) => void;
}

/** A write whose every call stays in flight until the test settles it. */
function manualWrite<T, R>() {
  const calls: WriteCall<T, R>[] = [];
  const write = (items: T[]) =>
    new Promise<R[]>((resolve, reject) => calls.push({ items: [...items], resolve, reject }));
  return { calls, write };
}

const tick = () => new Promise((r) => setImmediate(r));

/** Tracks whether a promise has settled, without awaiting it. */
function watch<R>(p: Promise<R>) {
  const state: { settled: boolean; value?: R; error?: unknown } = { settled: false };
  p.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('GroupCommit', () => {
  it('writes the first item at once and alone when idle', () => {
    const { calls, write } = manualWrite<string, number>();
    const gc = new GroupCommit(write, { maxBatch: 10 });
    void gc.submit('a');
    expect(calls.map((c) => c.items)).toEqual([['a']]);
  });

  it('gathers the items submitted during a write into the next batch, each with its own result', async () => {
    const { calls, write } = manualWrite<string, string>();
    const gc = new GroupCommit(write, { maxBatch: 10 });
    const a = watch(gc.submit('a'));
    const later = ['b', 'c', 'd'].map((x) => watch(gc.submit(x)));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([['a']]);

    calls[0]!.resolve(['A']);
    await tick();
    expect(a).toEqual({ settled: true, value: 'A' });
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b', 'c', 'd']]);
    expect(later.some((s) => s.settled)).toBe(false);

    calls[1]!.resolve(['B', 'C', 'D']);
    await tick();
    expect(later.map((s) => s.value)).toEqual(['B', 'C', 'D']);
  });

  it('counts as its backlog every item whose batch has not settled, waiting or being written', async () => {
    const { calls, write } = manualWrite<string, string>();
    const gc = new GroupCommit(write, { maxBatch: 10 });
    expect(gc.backlog).toBe(0);
    const all = ['a', 'b', 'c'].map((x) => gc.submit(x));
    expect(gc.backlog).toBe(3);
    calls[0]!.resolve(['A']);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b', 'c']]);
    expect(gc.backlog).toBe(2);
    calls[1]!.resolve(['B', 'C']);
    expect(await Promise.all(all)).toEqual(['A', 'B', 'C']);
    expect(gc.backlog).toBe(0);
  });

  it('settles nobody before the write holding their item has settled', async () => {
    const { calls, write } = manualWrite<string, string>();
    const gc = new GroupCommit(write, { maxBatch: 10 });
    const a = watch(gc.submit('a'));
    await tick();
    await tick();
    expect(a.settled).toBe(false);
    calls[0]!.resolve(['A']);
    await tick();
    expect(a.settled).toBe(true);
  });

  it('caps a batch at maxBatch items and writes one batch at a time', async () => {
    const { calls, write } = manualWrite<number, number>();
    const gc = new GroupCommit(write, { maxBatch: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((x) => gc.submit(x));
    for (let i = 0; i < 4; i++) {
      await tick();
      expect(calls).toHaveLength(i + 1);
      calls[i]!.resolve(calls[i]!.items.map((x) => x * 10));
    }
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4, 5], [6]]);
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('writes at once again after going idle', async () => {
    const { calls, write } = manualWrite<string, string>();
    const gc = new GroupCommit(write, { maxBatch: 10 });
    const a = gc.submit('a');
    calls[0]!.resolve(['A']);
    await a;
    await tick();
    void gc.submit('b');
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b']]);
  });

  it('retries a failed batch item by item, so only the item that fails alone is rejected', async () => {
    const committed: string[] = [];
    const batches: string[][] = [];
    const gc = new GroupCommit<string, string>(
      async (items) => {
        batches.push(items);
        await tick();
        const bad = items.find((x) => x.startsWith('bad'));
        if (bad) throw new Error(`${bad} is invalid`);
        committed.push(...items);
        return items.map((x) => x.toUpperCase());
      },
      { maxBatch: 10 },
    );
    const results = await Promise.allSettled(
      ['first', 'x', 'bad1', 'y', 'bad2', 'z'].map((x) => gc.submit(x)),
    );

    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'FIRST',
      'X',
      'bad1 is invalid',
      'Y',
      'bad2 is invalid',
      'Z',
    ]);
    expect(batches[1]).toEqual(['x', 'bad1', 'y', 'bad2', 'z']);
    expect(batches.slice(2).sort()).toEqual([['bad1'], ['bad2'], ['x'], ['y'], ['z']]);
    expect(committed.sort()).toEqual(['first', 'x', 'y', 'z']);
  });

  it('rejects every caller when every write fails, and does not retry a batch of one', async () => {
    let writes = 0;
    const gc = new GroupCommit<number, number>(
      () => {
        writes++;
        return Promise.reject(new Error('connect ECONNREFUSED'));
      },
      { maxBatch: 10 },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((x) => gc.submit(x)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    // [1] alone, then [2, 3, 4] and each of them again.
    expect(writes).toBe(1 + 1 + 3);
  });

  it('keeps going after a write that throws synchronously', async () => {
    let fail = true;
    const gc = new GroupCommit<number, number>(
      (items) => {
        if (fail) throw new Error('boom');
        return Promise.resolve(items);
      },
      { maxBatch: 10 },
    );
    await expect(gc.submit(1)).rejects.toThrow('boom');
    fail = false;
    await expect(gc.submit(2)).resolves.toBe(2);
  });

  it('writes up to `lanes` batches at the same time', async () => {
    const { calls, write } = manualWrite<number, number>();
    const gc = new GroupCommit(write, { lanes: 2 });
    const first = [1, 2].map((i) => watch(gc.submit(i)));
    await tick();
    // Both lanes are busy with one item each; the rest waits for a lane.
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    const rest = [3, 4, 5].map((i) => watch(gc.submit(i)));
    await tick();
    expect(calls).toHaveLength(2);
    calls[0]!.resolve([10]);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4, 5]]);
    calls[1]!.resolve([20]);
    calls[2]!.resolve([30, 40, 50]);
    await tick();
    expect([...first, ...rest].map((s) => s.value)).toEqual([10, 20, 30, 40, 50]);
  });

  it('with `gather`, holds a batch back until the gathering ends, then writes all that arrived', async () => {
    const { calls, write } = manualWrite<number, number>();
    let endGathering!: () => void;
    let gatherings = 0;
    const gather = () => {
      gatherings++;
      return new Promise<void>((resolve) => (endGathering = resolve));
    };
    const gc = new GroupCommit(write, { maxBatch: 10, gather });
    const submitted = [1, 2].map((i) => watch(gc.submit(i)));
    await tick();
    expect(calls).toHaveLength(0);
    submitted.push(watch(gc.submit(3)));
    endGathering();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    expect(gatherings).toBe(1);
    calls[0]!.resolve([10, 20, 30]);
    await tick();
    expect(submitted.map((s) => s.value)).toEqual([10, 20, 30]);
  });

  it('with `gather`, writes a full batch at once without waiting for the gathering to end', async () => {
    const { calls, write } = manualWrite<number, number>();
    const gc = new GroupCommit(write, { maxBatch: 3, gather: () => new Promise<void>(() => undefined) });
    [1, 2].forEach((i) => void gc.submit(i));
    await tick();
    expect(calls).toHaveLength(0);
    void gc.submit(3);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
  });

  it('refuses a batch size or lane count below one', () => {
    const { write } = manualWrite<number, number>();
    expect(() => new GroupCommit(write, { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new GroupCommit(write, { lanes: 0 })).toThrow(RangeError);
  });
});
