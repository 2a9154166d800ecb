import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Viewer, type Answers, type Reader } from '#answers';
import { viewerOf, type ScopedRequest } from '../http/scope.js';
import { ANSWERS, PRIMARY_ANSWERS } from '../tokens.js';
import { GraphLoaders } from './loaders.js';
import type { SubscriptionSlots } from './subscription-guard.js';
import type { InitDeadline } from '../auth/socket-auth.js';

/** What every resolver receives: the HTTP (or WebSocket upgrade) request and per-request loaders. */
export interface GraphContext extends SubscriptionSlots {
  req?: FastifyRequest & ScopedRequest;
  /** Set on subscription contexts, which live as long as the socket. */
  subscription?: boolean;
  /** A socket's deadline for its `connection_init` (subscription contexts only). */
  initDeadline?: InitDeadline;
  loaders?: GraphLoaders;
  /**
   * Set when a WebSocket authenticated in its connection_init message (browsers cannot send an
   * Authorization header on the upgrade); it replaces the upgrade request's scope.
   */
  socketScope?: { scope: ScopedRequest['refgraphScope'] };
}

/** The caller as the read model sees them: the socket's connection_init identity, else the request's. */
export function viewerOfContext(ctx: GraphContext): Viewer {
  return ctx.socketScope ? new Viewer('socket', ctx.socketScope.scope) : viewerOf(ctx.req);
}

@Injectable()
export class LoaderFactory {
  constructor(
    @Inject(ANSWERS) private readonly answers: Answers,
    @Inject(PRIMARY_ANSWERS) private readonly primaryAnswers: Answers,
  ) {}

  /**
   * Loaders are created on first use, after the auth hook has identified the caller. A socket's
   * loaders batch but do not cache: verification results change while a subscription lives.
   */
  of(ctx: GraphContext): GraphLoaders {
    ctx.loaders ??= new GraphLoaders(this.reader(ctx), { cache: !ctx.subscription });
    return ctx.loaders;
  }

  /**
   * Subscriptions read from the primary: their reads follow a NOTIFY of a commit that a read
   * replica may not have replayed yet.
   */
  reader(ctx: GraphContext): Reader {
    const answers = ctx.subscription ? this.primaryAnswers : this.answers;
    return ctx.loaders?.reader ?? answers.for(viewerOfContext(ctx));
  }
}
