import type { TrustPolicy } from './trust-policy.js';

export type TrustChangeListener = (next: TrustPolicy, previous: TrustPolicy) => void;

/**
 * The trust policy in force in this process, replaced as a whole when the trusted root changes.
 * Readers take `policy` once per unit of work (one verification job, one verdict) and use that
 * object throughout, so a root and the version stamped on results computed with it never come
 * from two different policies.
 */
export class CurrentTrust {
  private readonly listeners = new Set<TrustChangeListener>();

  constructor(private current: TrustPolicy) {}

  get policy(): TrustPolicy {
    return this.current;
  }

  get version(): string {
    return this.current.version;
  }

  /**
   * Puts `next` in force. Listeners hear of it only when the version changed, after the swap, so
   * anything they read is already the new policy. Returns whether the version changed.
   */
  replace(next: TrustPolicy): boolean {
    const previous = this.current;
    this.current = next;
    if (next.version === previous.version) return false;
    for (const listener of this.listeners) listener(next, previous);
    return true;
  }

  /** Returns the function that removes the listener. */
  onChange(listener: TrustChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
