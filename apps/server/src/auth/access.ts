/**
 * Route access policy: every route declares what it needs, on the route itself, and the auth hook
 * reads the declaration of the route the router matched (never the raw URL, whose spelling —
 * percent-encoding, absolute form — differs from what the router decodes). A route without a
 * declaration is denied.
 *
 * How to declare:
 * - Nest controller method: `@Access('read')` (wraps `@RouteConfig` of @nestjs/platform-fastify).
 * - plain Fastify route: `app.get('/path', { config: routeAccess('read') }, handler)`.
 * - a plugin's routes (mercurius): its route-options hook, e.g. `additionalRouteOptions`.
 */
import { RouteConfig } from '@nestjs/platform-fastify';

/**
 * - public: anyone, no credentials read (health, docs, static UI files);
 * - webhook: a registry's own per-registry secret, checked by its adapter (API tokens are not read);
 * - read: a principal with a read scope (anonymous when no `auth:` section is configured);
 * - admin: a principal with the `admin` scope; never anonymous.
 */
export type Access = 'public' | 'webhook' | 'read' | 'admin';

export const ACCESS_LEVELS: readonly Access[] = ['public', 'webhook', 'read', 'admin'];

/** What a route's `config` carries. `socket` marks the one route that accepts WebSocket handshakes. */
export interface RouteAccessConfig {
  access: Access;
  socket?: boolean;
  /** A public route that authenticates its callers itself: still rate-limited per address. */
  limited?: boolean;
  /** Answers bounded by the heavy-answer gate. */
  heavy?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    socket?: boolean;
    limited?: boolean;
  }
}

/** Route `config` for a plain Fastify route. */
export function routeAccess(
  access: Access,
  opts: { socket?: boolean; limited?: boolean; heavy?: boolean } = {},
): RouteAccessConfig {
  return {
    access,
    ...(opts.socket ? { socket: true } : {}),
    ...(opts.limited ? { limited: true } : {}),
    ...(opts.heavy ? { heavy: true } : {}),
  };
}

/**
 * Method decorator for Nest controllers; class-level metadata is not read by the adapter.
 * `heavy`: the answers run under the heavy-answer gate (http/heavy-gate.ts).
 */
export const Access = (access: Access, opts: { heavy?: boolean } = {}): MethodDecorator =>
  RouteConfig(routeAccess(access, opts));

/** The declared policy of a matched route's config, or undefined when it declares none (denied). */
export function declaredAccess(config: { access?: unknown } | undefined): Access | undefined {
  const a = config?.access;
  return typeof a === 'string' && (ACCESS_LEVELS as readonly string[]).includes(a)
    ? (a as Access)
    : undefined;
}
