import { Field, Float, ObjectType } from '@nestjs/graphql';
import { Annotation, PageInfo } from './common.model.js';
import { ArtifactKind, EdgeKind } from './enums.js';

@ObjectType({ description: 'An OCI platform, as an image index lists it for a child manifest.' })
export class Platform {
  @Field(() => String, { nullable: true, description: 'Operating system, e.g. `linux`.' })
  os!: string | null;

  @Field(() => String, { nullable: true, description: 'CPU architecture, e.g. `amd64`.' })
  architecture!: string | null;

  @Field(() => String, { nullable: true, description: 'Architecture variant, e.g. `v8`.' })
  variant!: string | null;
}

@ObjectType({
  description:
    'A manifest or index known to refgraph, identified by its digest. Fields that look around it ' +
    '(referrers, signatures, ...) only show what the caller may read.',
})
export class Artifact {
  @Field({ description: 'Content digest, `algorithm:hex` in lowercase.' })
  digest!: string;

  @Field(() => Platform, {
    nullable: true,
    description: 'For an index child (`children`): the platform the index lists it for; null elsewhere.',
  })
  platform?: Platform | null;

  @Field(() => String, {
    nullable: true,
    description: 'Media type of the manifest; null when not fetched yet.',
  })
  mediaType!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Artifact type: the manifest `artifactType`, else its config media type.',
  })
  artifactType!: string | null;

  @Field(() => ArtifactKind, { description: 'What the artifact is.' })
  kind!: ArtifactKind;

  @Field(() => Float, { nullable: true, description: 'Size of the manifest in bytes.' })
  size!: number | null;

  @Field(() => [Annotation], { description: 'Annotations of the manifest itself.' })
  annotations!: Annotation[];

  @Field(() => String, {
    nullable: true,
    description: 'Digest named by the manifest `subject`, whether or not that artifact is known.',
  })
  subjectDigest!: string | null;
}

@ObjectType({ description: 'A referrer of an artifact, with how the edge was learnt.' })
export class ReferrerEdge {
  @Field({ description: 'Opaque cursor of this edge.' })
  cursor!: string;

  @Field(() => EdgeKind, { description: 'How the edge was learnt.' })
  kind!: EdgeKind;

  @Field(() => Artifact, { description: 'The referrer.' })
  node!: Artifact;
}

@ObjectType({ description: 'A page of referrers, ordered by referrer digest.' })
export class ReferrerConnection {
  @Field(() => [ReferrerEdge], { description: 'Referrers on this page.' })
  edges!: ReferrerEdge[];

  @Field(() => PageInfo, { description: 'Paging information.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'An artifact in a list.' })
export class ArtifactEdge {
  @Field({ description: 'Opaque cursor of this edge.' })
  cursor!: string;

  @Field(() => Artifact, { description: 'The artifact.' })
  node!: Artifact;
}

@ObjectType({ description: 'A page of artifacts, ordered by digest.' })
export class ArtifactConnection {
  @Field(() => [ArtifactEdge], { description: 'Artifacts on this page.' })
  edges!: ArtifactEdge[];

  @Field(() => PageInfo, { description: 'Paging information.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'An artifact whose SBOM lists a package.' })
export class PackageMatch {
  @Field({ description: 'Package URL as listed in the SBOM.' })
  purl!: string;

  @Field({ description: 'Package name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'Package version, when listed.' })
  version!: string | null;

  @Field({ description: 'Digest of the artifact the SBOM describes.' })
  digest!: string;
}
