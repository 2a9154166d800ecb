/**
 * Fixed one-minute windows per client key, in this process (each replica limits on its own).
 * A limit of 0 turns limiting off.
 */
export class RateLimiter {
  private window = 0;
  private counts = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  allow(key: string): boolean {
    if (this.perMinute === 0) return true;
    const window = Math.floor(this.now() / 60_000);
    if (window !== this.window) {
      this.window = window;
      this.counts = new Map();
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= this.perMinute;
  }

  /** Whole seconds until the current window ends and a refused key may try again (at least 1). */
  retryAfterSeconds(): number {
    const now = this.now();
    return Math.max(1, Math.ceil(((Math.floor(now / 60_000) + 1) * 60_000 - now) / 1000));
  }
}
