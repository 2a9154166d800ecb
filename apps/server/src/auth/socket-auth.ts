/**
 * Authentication of GraphQL WebSocket connections at graphql-ws `connection_init`. The handshake
 * went through the auth hook like every request: it either carried credentials (and so a
 * principal) or, when it carried none, was let through with an empty scope. Here the connection
 * is accepted only when the handshake was authenticated or the `connection_init` payload carries
 * a valid token (`{"authorization": "Bearer …"}`); otherwise it is refused. A token there moves
 * the socket's place in the per-client socket count (taken by the auth hook at the handshake,
 * under the address when it carried no credentials) to that token's principal, if it has room.
 */
import type { RepositoryScope } from '#store';
import type { AuthedRequest } from './auth.hook.js';
import type { Authenticator } from './authenticator.js';
import { limitKey } from './auth.hook.js';
import { readScope } from './principal.js';
import type { RateLimiter } from './rate-limit.js';
import { TOO_MANY_SOCKETS } from './socket-limit.js';

/** What mercurius merges into the socket's context when a connection_init token is accepted. */
export interface SocketGrant {
  socketScope: { scope: RepositoryScope };
}

/**
 * mercurius calls `onConnect` as a method of the connection, whose `context` holds the result of
 * the subscription context function (`req`: the handshake request). Without that context the
 * handshake counts as unauthenticated: a change there fails closed.
 */
interface ConnectionThis {
  context?: { req?: AuthedRequest & { ip?: string }; initDeadline?: InitDeadline };
  socket?: ClosableSocket;
}

/** The part of the connection's `ws` socket the guard uses. */
export interface ClosableSocket {
  close(code?: number, reason?: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** graphql-ws's close code for a socket that sent `connection_init` more than once. */
export const TOO_MANY_INITIALISATIONS = 4429;

/** graphql-ws's close code for a socket that sent no `connection_init` in time. */
export const INIT_TIMEOUT = 4408;

/** How long a new socket may wait before its `connection_init` (graphql-ws servers use 3 s). */
export const INIT_TIMEOUT_MS = 10_000;

/** A socket's `connection_init` deadline, cleared by `onConnect`'s acceptance. */
export interface InitDeadline {
  clear(): void;
}

/**
 * Closes `socket` with 4408 unless a `connection_init` is accepted within INIT_TIMEOUT_MS: an idle
 * socket would otherwise hold its place in the per-client socket count (and a connection) forever,
 * and sockets without credentials all count under one address.
 */
export function initDeadline(socket: ClosableSocket, ms = INIT_TIMEOUT_MS): InitDeadline {
  const timer = setTimeout(() => socket.close(INIT_TIMEOUT, 'Connection initialisation timeout'), ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  return { clear: () => clearTimeout(timer) };
}

/** graphql-ws's close code for a connection whose credentials are no longer accepted. */
export const CREDENTIALS_EXPIRED = 4403;

/** setTimeout's longest delay; a credential valid for longer is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A socket is closed when the credential it was opened with expires: every HTTP request is
 * authenticated anew, a socket only once, so without this an expired OIDC token (or one the
 * issuer would no longer grant) would go on receiving events for as long as the socket lives.
 */
export function closeAtExpiry(
  socket: ClosableSocket | undefined,
  expiresAt: number | undefined,
  now = Date.now,
) {
  if (!socket || expiresAt === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = expiresAt - now();
    if (left <= 0) return socket.close(CREDENTIALS_EXPIRED, 'credentials expired');
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  socket.once('close', () => clearTimeout(timer));
  arm();
}

export function socketConnectGuard(auth: Authenticator, limiter: RateLimiter) {
  /**
   * Sockets that sent their `connection_init`. graphql-ws allows one: mercurius would run this
   * guard again for each further one (a second token re-scoping a live socket, a second move of
   * its place in the count) and start one more keep-alive timer each time that nothing clears.
   */
  const initialised = new WeakSet<ClosableSocket>();
  return async function onConnect(
    this: ConnectionThis | undefined,
    data: { payload?: Record<string, unknown> | null },
  ): Promise<boolean | SocketGrant> {
    const socket = this?.socket;
    if (!socket) return false;
    if (initialised.has(socket)) {
      socket.close(TOO_MANY_INITIALISATIONS, 'Too many initialisation requests');
      return false;
    }
    initialised.add(socket);
    const accepted = await admit.call(this, data);
    if (accepted !== false) this?.context?.initDeadline?.clear();
    return accepted;
  };

  async function admit(
    this: ConnectionThis | undefined,
    data: { payload?: Record<string, unknown> | null },
  ): Promise<boolean | SocketGrant> {
    const req = this?.context?.req;
    // Every socket is counted from its handshake; one that was not (a change in how handshakes
    // reach the auth hook) is refused rather than left uncounted.
    const slot = req?.refgraphSocket;
    if (!slot) return false;
    if (!auth.enabled) return true; // reads are open; the handshake got the anonymous scope
    const payload = data?.payload ?? undefined;
    const header = payload?.authorization ?? payload?.Authorization;
    if (header === undefined) {
      if (req?.refgraphPrincipal === undefined) return false;
      closeAtExpiry(this?.socket, req.refgraphPrincipal.expiresAt);
      return true;
    }
    if (typeof header !== 'string') return false;
    const outcome = await auth.authenticate(header);
    if (!outcome.ok) return false;
    if (!limiter.allow(limitKey(outcome.principal, req?.ip ?? ''))) return false;
    const scope = readScope(outcome.principal);
    if (scope !== undefined && scope.length === 0) return false;
    if (!slot.moveTo(limitKey(outcome.principal, req?.ip ?? ''))) {
      this?.socket?.close(TOO_MANY_SOCKETS, 'too many open sockets for this client');
      return false;
    }
    closeAtExpiry(this?.socket, outcome.principal.expiresAt);
    return { socketScope: { scope } };
  }
}
