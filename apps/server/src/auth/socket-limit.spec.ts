import { SocketLimiter } from './socket-limit.js';

describe('SocketLimiter', () => {
  it('holds at most the limit per key, frees a slot once, and moves a slot only into room', () => {
    const sockets = new SocketLimiter(2);
    const a1 = sockets.take('a')!;
    const a2 = sockets.take('a')!;
    expect(sockets.take('a')).toBeUndefined();
    expect(sockets.count('a')).toBe(2);

    const pending = sockets.take('ip:1')!;
    expect(pending.moveTo('a')).toBe(false);
    expect([pending.key, sockets.count('ip:1')]).toEqual(['ip:1', 1]);
    expect(pending.moveTo('b')).toBe(true);
    expect([pending.key, sockets.count('ip:1'), sockets.count('b')]).toEqual(['b', 0, 1]);

    a1.release();
    a1.release();
    expect(sockets.count('a')).toBe(1);
    expect(pending.moveTo('a')).toBe(true);
    expect([sockets.count('a'), sockets.count('b')]).toEqual([2, 0]);
    pending.release();
    a2.release();
    expect(sockets.count('a')).toBe(0);
    expect(pending.moveTo('c')).toBe(false);
  });

  it('counts without a cap when the limit is 0', () => {
    const sockets = new SocketLimiter(0);
    const slots = Array.from({ length: 100 }, () => sockets.take('a'));
    expect(slots.every((s) => s !== undefined)).toBe(true);
    expect(sockets.count('a')).toBe(100);
  });
});
