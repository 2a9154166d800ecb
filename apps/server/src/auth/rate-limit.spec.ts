import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('refuses past the limit within a minute and names the seconds left in it', () => {
    let now = 120_000 + 45_500; // 45.5 s into a window
    const limiter = new RateLimiter(2, () => now);
    expect([limiter.allow('a'), limiter.allow('a'), limiter.allow('a')]).toEqual([true, true, false]);
    expect(limiter.allow('b')).toBe(true);
    expect(limiter.retryAfterSeconds()).toBe(15);
    now = 120_000 + 59_999;
    expect(limiter.retryAfterSeconds()).toBe(1);
    now = 180_000;
    expect(limiter.retryAfterSeconds()).toBe(60);
    expect(limiter.allow('a')).toBe(true);
  });
});
