import { join } from 'node:path';
import { Module, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import type { FastifyRequest } from 'fastify';
import { GraphListener } from '#store';
import { routeAccess } from '../auth/access.js';
import { initDeadline, socketConnectGuard, type ClosableSocket } from '../auth/socket-auth.js';
import type { Runtime } from '../runtime.js';
import { ANSWERS, LOGGER, PRIMARY_ANSWERS } from '../tokens.js';
import { ArtifactResolver, SbomResolver } from './artifact.resolver.js';
import { LoaderFactory, type GraphContext } from './context.js';
import { limitDocumentText, limitParsedDocument } from './document-limits.js';
import { graphqlErrorFormatter, GraphqlErrorFilter } from './errors.js';
import { checkGetRequest } from './get-request.js';
import { GRAPH_LISTENER, GraphEvents } from './events.js';
import { GraphiqlController } from './ide.controller.js';
import { queryLimitsRule } from './limits.js';
import { guardSubscription, releaseSubscription, socketRefusals } from './subscription-guard.js';
import { PackageMatchResolver, QueryResolver } from './query.resolver.js';
import {
  ArtifactVulnerabilitiesResolver,
  VulnerabilityResolver,
  VulnerableArtifactResolver,
} from './vulnerability.resolver.js';
import {
  ReferrerAddedEventResolver,
  SubscriptionResolver,
  VerificationChangedEventResolver,
} from './subscription.resolver.js';

/** Where `REFGRAPH_WRITE_SCHEMA=1` writes the schema at start-up (the committed file). */
export const SCHEMA_FILE = join(process.cwd(), 'schema.graphql');

export function graphqlOptions(rt: Runtime): MercuriusDriverConfig {
  return {
    driver: MercuriusDriver,
    path: '/graphql',
    // Code first: the schema is built from the decorated classes; the file is only written on request.
    autoSchemaFile: process.env.REFGRAPH_WRITE_SCHEMA === '1' ? SCHEMA_FILE : true,
    sortSchema: true,
    buildSchemaOptions: { addNewlineAtEnd: true },
    graphiql: false,
    validationRules: [queryLimitsRule()],
    // GET and POST /graphql; the GET route is also the one that takes WebSocket handshakes.
    // GET requests are checked for what POST's body schema refuses (get-request.ts).
    additionalRouteOptions: {
      config: routeAccess('read', { socket: true, heavy: 'explore' }),
      preHandler: checkGetRequest,
    },
    errorFormatter: graphqlErrorFormatter(rt.logger),
    subscription: {
      // The upgrade request carries the caller's credentials and so its scope.
      // One slot table per socket (mercurius copies this context shallowly for each subscribe).
      context: (socket: ClosableSocket, req: FastifyRequest): GraphContext => ({
        req,
        subscription: true,
        liveSubscriptions: new Set<string>(),
        refusedSubscriptions: socketRefusals(socket),
        initDeadline: initDeadline(socket),
      }),
      // Accepted only when the handshake or the connection_init payload authenticated.
      onConnect: socketConnectGuard(rt.authenticator, rt.limiter),
      keepAlive: 30_000,
    },
    hooks: {
      // The token limit before parsing; only documents parsed from text are validated.
      preParsing: limitDocumentText,
      preValidation: limitParsedDocument,
      // Subscriptions are validated and limited like queries, and hold one stream per id.
      preSubscriptionExecution: guardSubscription,
      onSubscriptionEnd: releaseSubscription,
    },
  };
}

/** `/graphql` (queries and subscriptions) and its IDE at `/graphql/ide`. */
@Module({})
export class GraphqlModule {
  static forRuntime(rt: Runtime): DynamicModule {
    const listener = new GraphListener({
      connection: rt.db.pool.options,
      onError: (err) => rt.logger.warn({ err }, 'graph listener connection lost; reconnecting'),
    });
    return {
      module: GraphqlModule,
      imports: [GraphQLModule.forRoot<MercuriusDriverConfig>(graphqlOptions(rt))],
      controllers: [GraphiqlController],
      providers: [
        { provide: ANSWERS, useValue: rt.answers },
        { provide: PRIMARY_ANSWERS, useValue: rt.primaryAnswers },
        { provide: LOGGER, useValue: rt.logger },
        { provide: GRAPH_LISTENER, useValue: listener },
        LoaderFactory,
        GraphEvents,
        GraphqlErrorFilter,
        QueryResolver,
        PackageMatchResolver,
        ArtifactResolver,
        SbomResolver,
        VulnerabilityResolver,
        VulnerableArtifactResolver,
        ArtifactVulnerabilitiesResolver,
        SubscriptionResolver,
        ReferrerAddedEventResolver,
        VerificationChangedEventResolver,
      ],
    };
  }
}
