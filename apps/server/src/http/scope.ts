import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { Viewer } from '#answers';
import type { RepositoryScope } from '#store';

/** Set by the auth hook: who is calling and the repository patterns they may read. */
export interface ScopedRequest {
  /** undefined means every repository; only meaningful when refgraphViewerName is set. */
  refgraphScope?: RepositoryScope;
  refgraphPrincipal?: { name: string };
}

/**
 * The read model's view of the caller. Fails closed: a request the auth hook did not
 * authenticate (a public route, an unauthenticated socket) reads nothing.
 */
export function viewerOf(req: ScopedRequest | undefined): Viewer {
  if (!req?.refgraphPrincipal) return new Viewer('unauthenticated', []);
  return new Viewer(req.refgraphPrincipal.name, req.refgraphScope);
}

/** `@CallerView() viewer: Viewer` in a controller method. */
export const CallerView = createParamDecorator((_: unknown, ctx: ExecutionContext): Viewer =>
  viewerOf(ctx.switchToHttp().getRequest<ScopedRequest>()),
);
