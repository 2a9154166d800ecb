import { Field, ObjectType } from '@nestjs/graphql';
import { EdgeKind } from './enums.js';

@ObjectType({ description: 'A referrer was added to a subject in some repository.' })
export class ReferrerAddedEvent {
  @Field({ description: 'Digest of the subject.' })
  subject!: string;

  @Field({ description: 'Digest of the new referrer.' })
  referrerDigest!: string;

  @Field(() => EdgeKind, { description: 'How the edge was learnt.' })
  kind!: EdgeKind;

  @Field({ description: 'Registry where the edge was recorded.' })
  registry!: string;

  @Field({ description: 'Repository where the edge was recorded.' })
  repository!: string;
}

@ObjectType({ description: 'The stored verification result of a signature over a subject changed.' })
export class VerificationChangedEvent {
  @Field({ description: 'Digest of the signed artifact.' })
  subject!: string;

  @Field({ description: 'Digest of the signature artifact.' })
  artifactDigest!: string;

  @Field({ description: 'New outcome: `verified`, `failed`, `no_authority` or `pending`.' })
  status!: string;
}
