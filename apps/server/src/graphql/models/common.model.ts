import { Field, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'One annotation of a manifest.' })
export class Annotation {
  @Field({ description: 'Annotation key, e.g. `org.opencontainers.image.created`.' })
  key!: string;

  @Field({ description: 'Annotation value.' })
  value!: string;
}

@ObjectType({ description: 'Relay-style paging information of a connection.' })
export class PageInfo {
  @Field({ description: 'True when another page follows; pass `endCursor` as `after` to read it.' })
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Cursor of the last edge of this page.' })
  endCursor!: string | null;
}

@ObjectType({ description: 'Where an artifact is present: a repository of a configured registry.' })
export class ArtifactLocation {
  @Field({ description: 'Name of the configured registry.' })
  registry!: string;

  @Field({ description: 'Repository within the registry.' })
  repository!: string;

  @Field(() => [String], { description: 'Tags in this repository that point at the artifact.' })
  tags!: string[];
}
