import { LogSampler, type LineSink, type LogLevel } from './log-sampler.js';

type Line = { level: LogLevel; fields: Record<string, unknown>; msg: string };

function capture(): { sink: LineSink; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: LogLevel) => (fields: object, msg: string) =>
    void lines.push({ level, fields: fields as Record<string, unknown>, msg });
  const sink = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { sink: sink as unknown as LineSink, lines };
}

describe('LogSampler', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => (t = 1_000_000));

  it('writes every item below the rate', () => {
    const { sink, lines } = capture();
    const s = new LogSampler(sink, { maxPerInterval: 3, intervalMs: 1000, now });
    for (let i = 0; i < 3; i++) s.write('info', { i }, 'webhook delivery');
    s.flush();
    expect(lines.map((l) => l.fields.i)).toEqual([0, 1, 2]);
  });

  it('above the rate, counts items and writes one summary when the interval ends', () => {
    const { sink, lines } = capture();
    const s = new LogSampler(sink, { maxPerInterval: 2, intervalMs: 1000, now });
    for (let i = 0; i < 10; i++)
      s.write(i % 2 ? 'warn' : 'info', { i, outcome: i % 2 ? 'rejected' : 'accepted' }, 'webhook delivery');
    expect(lines).toHaveLength(2);
    t += 1000;
    s.write('info', { i: 10, outcome: 'accepted' }, 'webhook delivery');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toEqual({
      level: 'warn',
      fields: {
        kind: 'webhook delivery',
        suppressed: 8,
        outcomes: { accepted: 4, rejected: 4 },
        intervalMs: 1000,
        written: 2,
      },
      msg: 'webhook delivery: 8 more in 1000 ms (summary)',
    });
    expect(lines[3]!.fields.i).toBe(10);
  });

  it('limits each kind on its own', () => {
    const { sink, lines } = capture();
    const s = new LogSampler(sink, { maxPerInterval: 1, intervalMs: 1000, now });
    s.write('info', {}, 'a');
    s.write('info', {}, 'a');
    s.write('info', {}, 'b');
    expect(lines.map((l) => l.msg)).toEqual(['a', 'b']);
    s.flush();
    expect(lines.map((l) => l.msg)).toEqual(['a', 'b', 'a: 1 more in 1000 ms (summary)']);
  });

  it('writes no summary for an interval that stayed below the rate, and accounts for every item', () => {
    const { sink, lines } = capture();
    const s = new LogSampler(sink, { maxPerInterval: 5, intervalMs: 1000, now });
    let items = 0;
    for (let round = 0; round < 4; round++) {
      const n = round % 2 ? 2 : 12;
      for (let i = 0; i < n; i++, items++) s.write('debug', { outcome: 'done' }, 'ingested');
      t += 1500;
    }
    s.flush();
    const summaries = lines.filter((l) => 'suppressed' in l.fields);
    expect(summaries).toHaveLength(2);
    const perItem = lines.length - summaries.length;
    const counted = summaries.reduce((n, l) => n + (l.fields.suppressed as number), 0);
    expect(perItem + counted).toBe(items);
    expect(summaries.every((l) => l.level === 'debug')).toBe(true);
  });
});
