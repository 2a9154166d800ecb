import { UseFilters } from '@nestjs/common';
import { Args, Context, Parent, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import { LoaderFactory, type GraphContext } from './context.js';
import { GraphqlErrorFilter } from './errors.js';
import { GraphEvents } from './events.js';
import { parseDigest } from './input.js';
import { toArtifact } from './map.js';
import { Artifact } from './models/artifact.model.js';
import { ReferrerAddedEvent, VerificationChangedEvent } from './models/events.model.js';

/** Live changes of the graph over graphql-ws (`graphql-transport-ws` protocol). */
@Resolver()
@UseFilters(GraphqlErrorFilter)
export class SubscriptionResolver {
  constructor(
    private readonly events: GraphEvents,
    private readonly loaders: LoaderFactory,
  ) {}

  @Subscription(() => ReferrerAddedEvent, {
    description:
      'A referrer (signature, attestation, SBOM, ...) was added to the subject in a visible repository.',
    resolve: (payload: ReferrerAddedEvent) => payload,
  })
  referrerAdded(
    @Args('subject', { description: 'Digest of the subject to watch.' }) subject: string,
    @Context() ctx: GraphContext,
  ): AsyncIterableIterator<ReferrerAddedEvent> {
    return this.events.referrerAdded(parseDigest(subject, 'subject'), this.loaders.reader(ctx));
  }

  @Subscription(() => VerificationChangedEvent, {
    description: 'The stored verification result of a signature over the subject changed.',
    resolve: (payload: VerificationChangedEvent) => payload,
  })
  verificationChanged(
    @Args('subject', { description: 'Digest of the subject to watch.' }) subject: string,
    @Context() ctx: GraphContext,
  ): AsyncIterableIterator<VerificationChangedEvent> {
    return this.events.verificationChanged(parseDigest(subject, 'subject'), this.loaders.reader(ctx));
  }
}

@Resolver(() => ReferrerAddedEvent)
export class ReferrerAddedEventResolver {
  constructor(private readonly loaders: LoaderFactory) {}

  @ResolveField(() => Artifact, {
    nullable: true,
    description: 'The referrer, once its manifest is stored (null for a tag-schema listing not yet fetched).',
  })
  async referrer(@Parent() e: ReferrerAddedEvent, @Context() ctx: GraphContext): Promise<Artifact | null> {
    const row = await this.loaders.of(ctx).artifact(e.referrerDigest);
    return row ? toArtifact(row) : null;
  }
}

@Resolver(() => VerificationChangedEvent)
export class VerificationChangedEventResolver {
  constructor(private readonly loaders: LoaderFactory) {}

  @ResolveField(() => Artifact, { nullable: true, description: 'The signature artifact.' })
  async signature(
    @Parent() e: VerificationChangedEvent,
    @Context() ctx: GraphContext,
  ): Promise<Artifact | null> {
    const row = await this.loaders.of(ctx).artifact(e.artifactDigest);
    return row ? toArtifact(row) : null;
  }
}
