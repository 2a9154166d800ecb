import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorBody } from '../http/errors.js';
import type { ScopedRequest } from '../http/scope.js';
import { declaredAccess } from './access.js';
import type { Authenticator } from './authenticator.js';
import type { OciTokens } from './oci-token.js';
import { isAdmin, readScope, type Principal } from './principal.js';
import type { RateLimiter } from './rate-limit.js';
import { SOCKET_RETRY_AFTER_SECONDS, type SocketLimiter, type SocketSlot } from './socket-limit.js';

export interface AuthedRequest extends ScopedRequest {
  /** Set once the caller is authenticated (anonymous when no credentials are configured). */
  refgraphPrincipal?: Principal;
  /** A WebSocket handshake's place in the per-client socket count, held until its connection closes. */
  refgraphSocket?: SocketSlot;
}

export const ANONYMOUS: Principal = { name: 'anonymous', kind: 'anonymous', scopes: ['read:**'] };

const WS_KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * A WebSocket opening handshake (RFC 6455 §4.1) to the route that declares `socket`: the HTTP
 * server emitted 'upgrade' for it (so the websocket server, not the HTTP handler, answers it) and
 * every handshake header is well-formed. Anything else is an ordinary request.
 */
function isSocketHandshake(req: FastifyRequest, upgraded: boolean): boolean {
  const h = req.headers;
  const connection = String(h.connection ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  return (
    upgraded &&
    req.method === 'GET' &&
    req.routeOptions.config.socket === true &&
    connection.includes('upgrade') &&
    String(h.upgrade ?? '').toLowerCase() === 'websocket' &&
    WS_KEY.test(String(h['sec-websocket-key'] ?? '')) &&
    h['sec-websocket-version'] === '13'
  );
}

function deny(
  req: FastifyRequest,
  reply: FastifyReply,
  status: 401 | 403 | 429,
  code: string,
  message: string,
  oci?: OciTokens,
) {
  const view = req.routeOptions.url?.startsWith('/v2') === true;
  // OCI clients need a token realm URL (the registry view's /v2/token); the rest keep theirs.
  if (status === 401)
    void reply.header('www-authenticate', oci && view ? oci.challenge(req) : 'Bearer realm="refgraph"');
  // OCI clients read the distribution-spec error shape; decided by the matched route.
  if (view) {
    const oci = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'TOOMANYREQUESTS';
    return reply.status(status).send({ errors: [{ code: oci, message }] });
  }
  return reply.status(status).send(errorBody(code, message, String(req.id)));
}

/** The limiter key of a principal: token or subject name, else the client address. */
export function limitKey(principal: Principal | undefined, ip: string): string {
  return !principal || principal.kind === 'anonymous' ? `ip:${ip}` : `p:${principal.name}`;
}

/** The start-up warning of an api that serves reads to anyone (no `auth:` section). */
export function warnWhenOpen(auth: Authenticator, logger: Logger): void {
  if (!auth.enabled) {
    logger.warn(
      'no API tokens or OIDC issuer configured: all reads are open to anyone who can reach refgraph; admin routes are disabled (configure auth.tokens)',
    );
  }
}

/**
 * One onRequest hook in front of every route (Nest controllers, plain Fastify routes, GraphQL):
 * reads the access policy the matched route declares (see access.ts), authenticates the caller,
 * enforces admin and read access, sets the read scope queries apply, and limits requests per
 * client. Webhooks carry their own per-registry secrets instead. Undeclared routes are denied.
 * With `sockets`, WebSocket handshakes are also counted against the client's open sockets.
 */
export function installAuth(
  app: FastifyInstance,
  auth: Authenticator,
  limiter: RateLimiter,
  logger: Logger,
  oci?: OciTokens,
  sockets?: SocketLimiter,
): void {
  // Registered before the websocket server's own listener (installAuth runs before GraphQL is
  // set up), so the mark exists when the handshake is routed through this hook.
  const handshakes = new WeakSet<IncomingMessage>();
  app.server.on('upgrade', (raw: IncomingMessage) => handshakes.add(raw));
  // An upgrade answered over HTTP (refused here, or an ordinary route) ends its socket: the
  // websocket plugin's own clean-up never runs when this hook answers first, and a half-open
  // upgraded socket would hold the server open.
  app.addHook('onResponse', (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    if (handshakes.has(req.raw)) req.raw.socket.destroy();
    done();
  });

  // Refused by the limiter: when to come back (RFC 6585; the distribution spec asks for it too).
  const tooMany = (req: FastifyRequest, reply: FastifyReply) => {
    void reply.header('retry-after', String(limiter.retryAfterSeconds()));
    return deny(req, reply, 429, 'rate_limited', 'too many requests');
  };

  /**
   * Counts an upgrade to the socket route under `key` until its connection closes, however that
   * ends (an HTTP answer, a close by either side, a cut connection); false when `key` is full.
   * connection_init may move it to the principal it authenticates (socket-auth.ts).
   */
  const admitSocket = (req: FastifyRequest, key: string): boolean => {
    if (!sockets || !handshakes.has(req.raw) || req.routeOptions.config.socket !== true) return true;
    const slot = sockets.take(key);
    if (!slot) return false;
    const connection = req.raw.socket;
    connection.once('close', () => slot.release());
    if (connection.destroyed) slot.release();
    (req as AuthedRequest).refgraphSocket = slot;
    return true;
  };
  const tooManySockets = (req: FastifyRequest, reply: FastifyReply) => {
    void reply.header('retry-after', String(SOCKET_RETRY_AFTER_SECONDS));
    return deny(req, reply, 429, 'too_many_sockets', 'too many open WebSocket connections for this client');
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.is404) {
      // Unmatched: only the generic not-found answer runs, the same for every caller.
      if (!limiter.allow(`ip:${req.ip}`)) return tooMany(req, reply);
      return;
    }
    const access = declaredAccess(req.routeOptions.config);
    if (access === undefined) {
      logger.error({ route: req.routeOptions.url, method: req.method }, 'route declares no access policy');
      return deny(req, reply, 403, 'forbidden', 'this route is not available');
    }
    if (access === 'public') {
      // A public route that checks credentials itself (the registry view's token endpoint) is
      // still limited per address.
      if (req.routeOptions.config.limited && !limiter.allow(`ip:${req.ip}`)) return tooMany(req, reply);
      return;
    }
    if (access === 'webhook') {
      if (!limiter.allow(`webhook:${req.ip}`)) return tooMany(req, reply);
      return;
    }
    let principal: Principal;
    if (!auth.enabled) {
      if (access === 'admin')
        return deny(
          req,
          reply,
          401,
          'unauthorized',
          'admin routes need an API token with the admin scope (auth.tokens)',
          oci,
        );
      principal = ANONYMOUS;
    } else if (!req.headers.authorization && isSocketHandshake(req, handshakes.has(req.raw))) {
      // Browsers cannot send Authorization on a handshake: the socket must authenticate in its
      // graphql-ws connection_init message (socket-auth.ts), which refuses it otherwise. Until
      // then it may read nothing.
      if (!limiter.allow(`ip:${req.ip}`)) return tooMany(req, reply);
      if (!admitSocket(req, limitKey(undefined, req.ip))) return tooManySockets(req, reply);
      (req as AuthedRequest).refgraphScope = [];
      return;
    } else {
      // The registry view also takes what OCI clients send: Basic (API token as password) or a
      // token its /v2/token endpoint issued.
      const outcome =
        oci && req.routeOptions.url?.startsWith('/v2')
          ? await oci.authenticate(req.headers.authorization)
          : await auth.authenticate(req.headers.authorization);
      if (!outcome.ok) {
        // A refused credential counts against the address: otherwise guessing tokens (or sending
        // JWTs that each cost a signature check) would be the one thing no limit applies to.
        if (!limiter.allow(`ip:${req.ip}`)) return tooMany(req, reply);
        return deny(req, reply, 401, 'unauthorized', outcome.reason, oci);
      }
      principal = outcome.principal;
    }
    if (!limiter.allow(limitKey(principal, req.ip))) {
      return tooMany(req, reply);
    }
    if (access === 'admin' && !isAdmin(principal))
      return deny(req, reply, 403, 'forbidden', 'this route needs the admin scope');
    const scope = readScope(principal);
    if (scope !== undefined && scope.length === 0)
      return deny(req, reply, 403, 'forbidden', 'this token has no read scope');
    if (!admitSocket(req, limitKey(principal, req.ip))) return tooManySockets(req, reply);
    (req as AuthedRequest).refgraphPrincipal = principal;
    (req as AuthedRequest).refgraphScope = scope;
  });
}
