/**
 * Authentication of GraphQL WebSocket connections at graphql-ws `connection_init`. The handshake
 * went through the auth hook like every request: it either carried credentials (and so a
 * principal) or, when it carried none, was let through with an empty scope. Here the connection
 * is accepted only when the handshake was authenticated or the `connection_init` payload carries
 * a valid token (`{"authorization": "Bearer …"}`); otherwise it is refused.
 */
import type { RepositoryScope } from '#store';
import type { AuthedRequest } from './auth.hook.js';
import type { Authenticator } from './authenticator.js';
import { limitKey } from './auth.hook.js';
import { readScope } from './principal.js';
import type { RateLimiter } from './rate-limit.js';

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
  context?: { req?: AuthedRequest & { ip?: string } };
}

export function socketConnectGuard(auth: Authenticator, limiter: RateLimiter) {
  return async function onConnect(
    this: ConnectionThis | undefined,
    data: { payload?: Record<string, unknown> | null },
  ): Promise<boolean | SocketGrant> {
    if (!auth.enabled) return true; // reads are open; the handshake got the anonymous scope
    const req = this?.context?.req;
    const payload = data?.payload ?? undefined;
    const header = payload?.authorization ?? payload?.Authorization;
    if (header === undefined) return req?.refgraphPrincipal !== undefined;
    if (typeof header !== 'string') return false;
    const outcome = await auth.authenticate(header);
    if (!outcome.ok) return false;
    if (!limiter.allow(limitKey(outcome.principal, req?.ip ?? ''))) return false;
    const scope = readScope(outcome.principal);
    if (scope !== undefined && scope.length === 0) return false;
    return { socketScope: { scope } };
  };
}
