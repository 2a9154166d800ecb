/** A bounded map that forgets the least recently used entry first; entries may expire. */
export class Lru<V> {
  private readonly map = new Map<string, { value: V; at: number }>();

  constructor(
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value, when set less than `maxAgeMs` ago (default: any age). */
  get(key: string, maxAgeMs = Infinity): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.now() - e.at >= maxAgeMs) {
      this.map.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, at: this.now() });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}
