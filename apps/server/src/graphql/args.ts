import { ArgsType, Field, InputType, Int } from '@nestjs/graphql';
import { LIMITS } from './input.js';
import { ArtifactKind, ReferrerKind } from './models/enums.js';

@InputType({ description: 'Narrows a list of artifacts; all given conditions must hold.' })
export class ArtifactFilter {
  @Field(() => ArtifactKind, { nullable: true, description: 'Only artifacts of this kind.' })
  kind?: ArtifactKind;

  @Field({ nullable: true, description: 'Only artifacts of this artifact type.' })
  artifactType?: string;

  @Field({ nullable: true, description: 'Only artifacts present in this configured registry.' })
  registry?: string;

  @Field({ nullable: true, description: 'Only artifacts present in a repository of this name.' })
  repository?: string;
}

@ArgsType()
export class ArtifactsArgs {
  @Field(() => ArtifactFilter, { nullable: true, description: 'Conditions on the artifacts listed.' })
  filter?: ArtifactFilter;

  @Field(() => Int, {
    defaultValue: LIMITS.artifacts,
    description: `Page size, 1 to ${LIMITS.maxFirst}.`,
  })
  first!: number;

  @Field({ nullable: true, description: '`endCursor` of the previous page.' })
  after?: string;
}

@ArgsType()
export class ReferrersArgs {
  @Field({ nullable: true, description: 'Only referrers of this artifact type.' })
  artifactType?: string;

  @Field(() => ReferrerKind, { nullable: true, description: 'Only referrers of this kind.' })
  kind?: ReferrerKind;

  @Field(() => Int, {
    defaultValue: LIMITS.referrers,
    description: `Page size, 1 to ${LIMITS.maxFirst}.`,
  })
  first!: number;

  @Field({ nullable: true, description: '`endCursor` of the previous page.' })
  after?: string;
}

@ArgsType()
export class SbomPackagesArgs {
  @Field(() => Int, {
    defaultValue: LIMITS.packages,
    description: `Page size, 1 to ${LIMITS.maxFirst}.`,
  })
  first!: number;

  @Field({ nullable: true, description: '`endCursor` of the previous page.' })
  after?: string;

  @Field({ nullable: true, description: 'Only packages whose name or purl contains this text.' })
  query?: string;
}

@ArgsType()
export class PackageSearchArgs {
  @Field({ description: 'Package URL, with a version for an exact match or without for any version.' })
  purl!: string;

  @Field(() => Int, {
    defaultValue: LIMITS.artifacts,
    description: `Most matches to return, 1 to ${LIMITS.maxFirst}.`,
  })
  first!: number;
}
