import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { GraphQueryRepository, QueryRepository } from '#store';
import type { ScopedRequest } from '../http/scope.js';
import { QUERY } from '../tokens.js';
import { GraphLoaders } from './loaders.js';

export const GRAPH_QUERY = Symbol('graph-query');

/** What every resolver receives: the HTTP (or WebSocket upgrade) request and per-request loaders. */
export interface GraphContext {
  req?: FastifyRequest & ScopedRequest;
  /** Set on subscription contexts, which live as long as the socket. */
  subscription?: boolean;
  loaders?: GraphLoaders;
  /**
   * Set when a WebSocket authenticated in its connection_init message (browsers cannot send an
   * Authorization header on the upgrade); it replaces the upgrade request's scope.
   */
  socketScope?: { scope: ScopedRequest['refgraphScope'] };
}

@Injectable()
export class LoaderFactory {
  constructor(
    @Inject(QUERY) private readonly query: QueryRepository,
    @Inject(GRAPH_QUERY) private readonly graph: GraphQueryRepository,
  ) {}

  /**
   * Loaders are created on first use, after the auth guard has set the caller's scope. A socket's
   * loaders batch but do not cache: verification results change while a subscription lives.
   */
  of(ctx: GraphContext): GraphLoaders {
    const scope = ctx.socketScope ? ctx.socketScope.scope : ctx.req?.refgraphScope;
    ctx.loaders ??= new GraphLoaders(this.query, this.graph, scope, {
      cache: !ctx.subscription,
    });
    return ctx.loaders;
  }
}
