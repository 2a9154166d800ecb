import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorBody } from '../http/errors.js';
import type { ScopedRequest } from '../http/scope.js';
import { accessFor } from './access.js';
import type { Authenticator } from './authenticator.js';
import { OCI_TOKEN_PATH, type OciTokens } from './oci-token.js';
import { isAdmin, readScope, type Principal } from './principal.js';
import { RateLimiter } from './rate-limit.js';

export interface AuthedRequest extends ScopedRequest {
  refgraphPrincipal?: Principal;
}

function isBareSocketUpgrade(req: FastifyRequest, path: string): boolean {
  return (
    req.method === 'GET' &&
    path === '/graphql' &&
    !req.headers.authorization &&
    String(req.headers.upgrade ?? '').toLowerCase() === 'websocket'
  );
}

const ANONYMOUS: Principal = { name: 'anonymous', kind: 'anonymous', scopes: ['read:**'] };

function deny(
  req: FastifyRequest,
  reply: FastifyReply,
  status: 401 | 403 | 429,
  code: string,
  message: string,
  oci?: OciTokens,
) {
  const path = req.url.split('?', 1)[0]!;
  if (status === 401) {
    // OCI clients need a token realm URL (registry view); everything else keeps its challenge.
    const challenge = oci && path.startsWith('/v2/') ? oci.challenge(req) : 'Bearer realm="refgraph"';
    void reply.header('www-authenticate', challenge);
  }
  // OCI clients read the distribution-spec error shape.
  if (path.startsWith('/v2/')) {
    const oci = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'TOOMANYREQUESTS';
    return reply.status(status).send({ errors: [{ code: oci, message }] });
  }
  return reply.status(status).send(errorBody(code, message, String(req.id)));
}

/**
 * One onRequest hook in front of every route (Nest controllers, the webhook plugin, GraphQL):
 * authenticates the caller, enforces admin and read access, sets the read scope queries apply,
 * and limits requests per client. Webhooks carry their own per-registry secrets instead.
 */
export function installAuth(
  app: FastifyInstance,
  auth: Authenticator,
  rateLimitPerMinute: number,
  logger: Logger,
  oci?: OciTokens,
): void {
  const limiter = new RateLimiter(rateLimitPerMinute);
  if (!auth.enabled) {
    logger.warn(
      'no API tokens or OIDC issuer configured: all reads are open to anyone who can reach refgraph; admin routes are disabled (configure auth.tokens)',
    );
  }
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?', 1)[0]!;
    const access = accessFor(req.method, path);
    if (access === 'public') return;
    // Registry view: the token endpoint authenticates its own callers (Basic or Bearer).
    if (oci && path === OCI_TOKEN_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      if (!limiter.allow(`ip:${req.ip}`)) return deny(req, reply, 429, 'rate_limited', 'too many requests');
      return;
    }
    if (access === 'webhook') {
      if (!limiter.allow(`webhook:${req.ip}`))
        return deny(req, reply, 429, 'rate_limited', 'too many requests');
      return;
    }
    let principal: Principal;
    if (!auth.enabled && access === 'read') {
      principal = ANONYMOUS;
    } else {
      if (!auth.enabled)
        return deny(
          req,
          reply,
          401,
          'unauthorized',
          'admin routes need an API token with the admin scope (auth.tokens)',
          oci,
        );
      if (isBareSocketUpgrade(req, path)) {
        // Browsers cannot send Authorization on a WebSocket upgrade; the token comes in the
        // graphql-ws connection_init message instead. Until then the socket may read nothing.
        (req as AuthedRequest).refgraphScope = [];
        return;
      }
      // Registry view: OCI clients also send Basic (API token as password) or a /v2/token token.
      const outcome =
        oci && path.startsWith('/v2/')
          ? await oci.authenticate(req.headers.authorization)
          : await auth.authenticate(req.headers.authorization);
      if (!outcome.ok) return deny(req, reply, 401, 'unauthorized', outcome.reason, oci);
      principal = outcome.principal;
    }
    if (!limiter.allow(principal.kind === 'anonymous' ? `ip:${req.ip}` : `p:${principal.name}`)) {
      return deny(req, reply, 429, 'rate_limited', 'too many requests');
    }
    if (access === 'admin' && !isAdmin(principal))
      return deny(req, reply, 403, 'forbidden', 'this route needs the admin scope');
    const scope = readScope(principal);
    if (scope !== undefined && scope.length === 0)
      return deny(req, reply, 403, 'forbidden', 'this token has no read scope');
    (req as AuthedRequest).refgraphPrincipal = principal;
    (req as AuthedRequest).refgraphScope = scope;
  });
}
