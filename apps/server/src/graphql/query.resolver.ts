import { UseFilters } from '@nestjs/common';
import { Args, Context, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { NotFoundError } from '#answers';
import { ArtifactsArgs, PackageSearchArgs } from './args.js';
import { LoaderFactory, type GraphContext } from './context.js';
import { GraphqlErrorFilter, GraphqlInputError } from './errors.js';
import { decodeCursor, encodeCursor, LIMITS, parseDigest, parseFirst, quote } from './input.js';
import { toArtifact } from './map.js';
import { Artifact, ArtifactConnection, PackageMatch } from './models/artifact.model.js';

const PURL_RE = /^pkg:[a-z0-9.+-]+\/.+/i;

/** Entry points of the graph. */
@Resolver()
@UseFilters(GraphqlErrorFilter)
export class QueryResolver {
  constructor(private readonly loaders: LoaderFactory) {}

  @Query(() => Artifact, {
    nullable: true,
    description:
      'One artifact by digest, or by reference (`<registry>/<repository>:<tag>` or `...@<digest>`). ' +
      'Null when it is not known or not visible to the caller.',
  })
  async artifact(
    @Context() ctx: GraphContext,
    @Args('digest', { nullable: true, description: 'Digest, `sha256:<hex>`.' }) digest?: string,
    @Args('reference', { nullable: true, description: 'Image reference by tag or digest.' })
    reference?: string,
  ): Promise<Artifact | null> {
    if ((digest == null) === (reference == null)) {
      throw new GraphqlInputError('pass exactly one of digest or reference', 'BAD_USER_INPUT');
    }
    const target = digest != null ? parseDigest(digest, 'digest') : await this.resolve(ctx, reference!);
    if (!target) return null;
    const row = await this.loaders.of(ctx).artifact(target);
    return row ? toArtifact(row) : null;
  }

  @Query(() => ArtifactConnection, { description: 'Known artifacts visible to the caller, by digest order.' })
  async artifacts(@Context() ctx: GraphContext, @Args() args: ArtifactsArgs): Promise<ArtifactConnection> {
    const first = parseFirst(args.first, 'artifacts', LIMITS.maxFirst);
    const loaders = this.loaders.of(ctx);
    const rows = await loaders.reader.graph.listArtifacts({
      filter: args.filter ?? {},
      after: decodeCursor('a', args.after),
      limit: first + 1,
    });
    const page = rows.slice(0, first);
    for (const r of page) loaders.seen(r);
    const edges = page.map((r) => ({ cursor: encodeCursor('a', r.digest), node: toArtifact(r) }));
    return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Query(() => [PackageMatch], {
    description:
      'Artifacts whose SBOM lists a package: without a version any version, with one that version (under any qualifiers unless the purl names them).',
  })
  async packages(@Context() ctx: GraphContext, @Args() args: PackageSearchArgs): Promise<PackageMatch[]> {
    if (!PURL_RE.test(args.purl)) {
      throw new GraphqlInputError(
        `purl: "${quote(args.purl)}" is not a package URL (pkg:type/namespace/name[@version])`,
        'BAD_USER_INPUT',
      );
    }
    const first = parseFirst(args.first, 'packages', LIMITS.maxFirst);
    return this.loaders.reader(ctx).searchPackages(args.purl, first);
  }

  /** A well-formed reference that names nothing known reads as null, like an unknown digest. */
  private async resolve(ctx: GraphContext, reference: string): Promise<string | null> {
    try {
      return (await this.loaders.reader(ctx).resolve(reference)).digest;
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }
}

@Resolver(() => PackageMatch)
export class PackageMatchResolver {
  constructor(private readonly loaders: LoaderFactory) {}

  @ResolveField(() => Artifact, { nullable: true, description: 'The artifact the SBOM describes.' })
  async artifact(@Parent() m: PackageMatch, @Context() ctx: GraphContext): Promise<Artifact | null> {
    const row = await this.loaders.of(ctx).artifact(m.digest);
    return row ? toArtifact(row) : null;
  }
}
