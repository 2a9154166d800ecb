/**
 * Open WebSocket connections per client key (`limitKey`: principal name, else address), in this
 * process (each replica counts its own). The rate limiter counts only new connections; a socket
 * then lives for hours and holds up to MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions that each read
 * the primary on every graph event, so without this one token could multiply that work by as many
 * sockets as it cares to keep open. A limit of 0 turns the cap off (sockets are still counted).
 */
export class SocketLimiter {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Sockets counted under `key` now. */
  count(key: string): number {
    return this.open.get(key) ?? 0;
  }

  /** A slot under `key`, or undefined when `key` already holds the limit. */
  take(key: string): SocketSlot | undefined {
    if (!this.room(key)) return undefined;
    this.add(key, 1);
    let current = key;
    let released = false;
    return {
      get key() {
        return current;
      },
      moveTo: (next: string) => {
        if (released) return false;
        if (next === current) return true;
        if (!this.room(next)) return false;
        this.add(current, -1);
        this.add(next, 1);
        current = next;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.add(current, -1);
      },
    };
  }

  private room(key: string): boolean {
    return this.max === 0 || this.count(key) < this.max;
  }

  private add(key: string, n: number): void {
    const next = this.count(key) + n;
    if (next > 0) this.open.set(key, next);
    else this.open.delete(key);
  }
}

/** One socket's place in the count. */
export interface SocketSlot {
  /** The key the socket is counted under. */
  readonly key: string;
  /**
   * Counts the socket under `key` instead (it authenticated as another client after the
   * handshake); false, and still counted where it was, when `key` already holds the limit.
   */
  moveTo(key: string): boolean;
  /** Frees the slot; later calls do nothing. */
  release(): void;
}

/** graphql-ws's close code for a connection refused for the client's load (as HTTP 429). */
export const TOO_MANY_SOCKETS = 4429;

/**
 * Retry-After of a handshake refused for the client's open sockets: a slot frees only when one of
 * them closes, so there is no window end to name; this keeps reconnect loops slow.
 */
export const SOCKET_RETRY_AFTER_SECONDS = 30;
