import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { RepositoryScope } from '#store';

/** Set by the auth guard: the repository patterns a caller may read; undefined means all. */
export interface ScopedRequest {
  refgraphScope?: RepositoryScope;
}

export const Scope = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): RepositoryScope =>
    ctx.switchToHttp().getRequest<ScopedRequest>().refgraphScope,
);
