import { Context, Args, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { ReferrersArgs, SbomPackagesArgs } from './args.js';
import { LoaderFactory, type GraphContext } from './context.js';
import { listCap } from './limits.js';
import { decodeCursor, encodeCursor, LIMITS, parseFirst } from './input.js';
import { edgeKind, fromDescriptor, fromReferrer, toArtifact, toAttestation, toSbom } from './map.js';
import { Artifact, ReferrerConnection } from './models/artifact.model.js';
import { ArtifactLocation } from './models/common.model.js';
import { Attestation, PackageConnection, Sbom, Signature } from './models/trust.model.js';

type Descriptor = Parameters<typeof fromDescriptor>[1];

/** Everything around an artifact, each field one batched loader call. */
@Resolver(() => Artifact)
export class ArtifactResolver {
  constructor(private readonly loaders: LoaderFactory) {}

  @ResolveField(() => [ArtifactLocation], {
    description: 'Repositories (in scope) where the artifact is present.',
  })
  repositories(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<ArtifactLocation[]> {
    return this.loaders.of(ctx).where(a.digest);
  }

  @ResolveField(() => [String], {
    description: 'Every tag pointing at the artifact, as `<registry>/<repository>:<tag>`.',
  })
  async tags(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<string[]> {
    const where = await this.loaders.of(ctx).where(a.digest);
    return where
      .flatMap((l) => l.tags.map((t) => `${l.registry}/${l.repository}:${t}`))
      .slice(0, listCap('Artifact.tags'));
  }

  @ResolveField(() => Artifact, {
    nullable: true,
    description: 'The artifact this one refers to (its manifest `subject`), when known and visible.',
  })
  async subject(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Artifact | null> {
    if (!a.subjectDigest) return null;
    const row = await this.loaders.of(ctx).artifact(a.subjectDigest);
    return row ? toArtifact(row) : null;
  }

  @ResolveField(() => ReferrerConnection, {
    description:
      'Artifacts that refer to this one (signatures, attestations, SBOMs, ...), by referrer digest.',
  })
  async referrers(
    @Parent() a: Artifact,
    @Args() args: ReferrersArgs,
    @Context() ctx: GraphContext,
  ): Promise<ReferrerConnection> {
    const first = parseFirst(args.first, 'referrers', LIMITS.maxFirst);
    const rows = await this.loaders.of(ctx).referrers(a.digest, {
      artifactType: args.artifactType,
      kind: args.kind,
      after: decodeCursor('r', args.after),
      limit: first + 1,
    });
    const edges = rows.slice(0, first).map((r) => ({
      cursor: encodeCursor('r', r.digest),
      kind: edgeKind(r.edgeKind),
      node: fromReferrer(r),
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @ResolveField(() => [Artifact], { description: 'Manifests this index lists (empty for a manifest).' })
  async children(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Artifact[]> {
    return this.related(ctx, await this.loaders.of(ctx).children(a.digest));
  }

  @ResolveField(() => [Artifact], { description: 'Indexes that list this artifact.' })
  async parents(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Artifact[]> {
    return this.related(ctx, await this.loaders.of(ctx).parents(a.digest));
  }

  @ResolveField(() => [Signature], {
    description: 'Signatures over this artifact, each with its verification.',
  })
  signatures(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Signature[]> {
    return this.loaders.of(ctx).signatures(a.digest, 'subject');
  }

  @ResolveField(() => [Signature], {
    description: 'When this artifact is a signature: the verification of what it signs (empty otherwise).',
  })
  verification(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Signature[]> {
    return this.loaders.of(ctx).signatures(a.digest, 'artifact');
  }

  @ResolveField(() => [Attestation], {
    description: 'Attestations about this artifact, with parsed predicates.',
  })
  async attestations(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Attestation[]> {
    return (await this.loaders.of(ctx).attestations(a.digest, 'subject')).map(toAttestation);
  }

  @ResolveField(() => [Attestation], {
    description: 'When this artifact is an attestation: the statements it carries (empty otherwise).',
  })
  async statements(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Attestation[]> {
    return (await this.loaders.of(ctx).attestations(a.digest, 'artifact')).map(toAttestation);
  }

  @ResolveField(() => Sbom, {
    nullable: true,
    description: 'The SBOM describing this artifact (a parsed one first, when there are several).',
  })
  async sbom(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Sbom | null> {
    const [first] = await this.loaders.of(ctx).sboms(a.digest);
    return first ? toSbom(first) : null;
  }

  @ResolveField(() => [Sbom], { description: 'Every SBOM describing this artifact.' })
  async sboms(@Parent() a: Artifact, @Context() ctx: GraphContext): Promise<Sbom[]> {
    return (await this.loaders.of(ctx).sboms(a.digest)).map(toSbom);
  }

  private async related(ctx: GraphContext, list: Array<{ digest: string; descriptor: unknown }>) {
    const rows = await Promise.all(list.map((c) => this.loaders.of(ctx).artifact(c.digest)));
    return list.map((c, i) => {
      const row = rows[i];
      const d = c.descriptor as
        (Descriptor & { platform?: { os?: string; architecture?: string; variant?: string } }) | null;
      const artifact = row ? toArtifact(row) : fromDescriptor(c.digest, d);
      const p = d?.platform;
      artifact.platform = p
        ? { os: p.os ?? null, architecture: p.architecture ?? null, variant: p.variant ?? null }
        : null;
      return artifact;
    });
  }
}

@Resolver(() => Sbom)
export class SbomResolver {
  constructor(private readonly loaders: LoaderFactory) {}

  @ResolveField(() => PackageConnection, { description: 'Packages the SBOM lists.' })
  async packages(
    @Parent() s: Sbom,
    @Args() args: SbomPackagesArgs,
    @Context() ctx: GraphContext,
  ): Promise<PackageConnection> {
    const first = parseFirst(args.first, 'packages', LIMITS.maxFirst);
    const rows = await this.loaders.of(ctx).packages(s.id, {
      query: args.query,
      after: decodeCursor('p', args.after),
      limit: first + 1,
    });
    const edges = rows.slice(0, first).map(({ id, ...p }) => ({
      cursor: encodeCursor('p', id),
      node: { ...p, licenses: p.licenses.slice(0, listCap('Package.licenses')) },
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
