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
import type { HeavyClass } from '../http/heavy-gate.js';

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
  /** Answers bounded by this class's heavy-answer gate. */
  heavy?: HeavyClass;
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
  opts: { socket?: boolean; limited?: boolean; heavy?: HeavyClass } = {},
): RouteAccessConfig {
  return {
    access,
    ...(opts.socket ? { socket: true } : {}),
    ...(opts.limited ? { limited: true } : {}),
    ...(opts.heavy ? { heavy: opts.heavy } : {}),
  };
}

/**
 * Method decorator for Nest controllers; class-level metadata is not read by the adapter.
 * `heavy`: the answers run under that class's heavy-answer gate (http/heavy-gate.ts).
 */
export const Access = (access: Access, opts: { heavy?: HeavyClass } = {}): MethodDecorator =>
  RouteConfig(routeAccess(access, opts));

/** The declared policy of a matched route's config, or undefined when it declares none (denied). */
export function declaredAccess(config: { access?: unknown } | undefined): Access | undefined {
  const a = config?.access;
  return typeof a === 'string' && (ACCESS_LEVELS as readonly string[]).includes(a)
    ? (a as Access)
    : undefined;
}
