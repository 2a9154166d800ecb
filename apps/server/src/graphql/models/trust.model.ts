import { Field, Float, GraphQLISODateTime, Int, ObjectType } from '@nestjs/graphql';
import { PageInfo } from './common.model.js';

@ObjectType({ description: 'A signature over an artifact and the stored result of verifying it.' })
export class Signature {
  @Field({ description: 'Digest of the signature artifact.' })
  artifactDigest!: string;

  @Field({
    description: 'Digest of the layer holding the signature (empty when the manifest is the signature).',
  })
  layerDigest!: string;

  @Field({ description: 'Digest of the signed artifact.' })
  subjectDigest!: string;

  @Field({
    description:
      '`signature` (a signature over the subject) or `attestation` (the verification of a signed statement about it).',
  })
  kind!: string;

  @Field({ description: '`<registry>/<repository>` whose trust rule produced this result.' })
  repository!: string;

  @Field({ description: 'Signature format: `cosign`, `notation`, `sigstore-bundle`, ...' })
  format!: string;

  @Field({ description: 'Verification outcome: `verified`, `failed`, `no_authority` or `pending`.' })
  status!: string;

  @Field(() => String, { nullable: true, description: 'Machine-readable reason when not verified.' })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: 'Human-readable detail of the outcome.' })
  message!: string | null;

  @Field(() => String, { nullable: true, description: 'Signer identity (certificate SAN) when keyless.' })
  identity!: string | null;

  @Field(() => String, { nullable: true, description: 'OIDC issuer of the signer identity.' })
  issuer!: string | null;

  @Field(() => String, { nullable: true, description: 'Key id when signed with a key.' })
  keyId!: string | null;

  @Field(() => String, { nullable: true, description: 'Name of the trust-policy authority that matched.' })
  authority!: string | null;

  @Field(() => Float, { nullable: true, description: 'Transparency log index, when logged.' })
  tlogIndex!: number | null;

  @Field(() => GraphQLISODateTime, {
    nullable: true,
    description: 'Time the transparency log integrated the entry.',
  })
  integratedTime!: Date | null;

  @Field({ description: 'Version of the trust policy the result was computed with.' })
  policyVersion!: string;

  @Field(() => GraphQLISODateTime, { description: 'When the verification ran.' })
  verifiedAt!: Date;
}

@ObjectType({ description: 'Number of vulnerabilities of one severity reported by a scan attestation.' })
export class VulnerabilityCount {
  @Field({ description: 'Severity, as reported by the scanner.' })
  severity!: string;

  @Field(() => Int, { description: 'Number of vulnerabilities.' })
  count!: number;
}

@ObjectType({ description: 'An in-toto statement about an artifact, with fields parsed from its predicate.' })
export class Attestation {
  @Field({ description: 'Digest of the attestation artifact.' })
  artifactDigest!: string;

  @Field({ description: 'Digest of the layer holding the statement.' })
  layerDigest!: string;

  @Field({ description: 'Digest of the artifact the statement is about.' })
  subjectDigest!: string;

  @Field({ description: 'Predicate type, e.g. `https://slsa.dev/provenance/v1`.' })
  predicateType!: string;

  @Field(() => String, { nullable: true, description: 'Provenance: builder id.' })
  builderId!: string | null;

  @Field(() => String, { nullable: true, description: 'Provenance: build type.' })
  buildType!: string | null;

  @Field(() => String, { nullable: true, description: 'Provenance: source repository.' })
  sourceRepo!: string | null;

  @Field(() => String, { nullable: true, description: 'Provenance: source revision (commit).' })
  sourceRevision!: string | null;

  @Field(() => [VulnerabilityCount], {
    description: 'Vulnerability scan: counts by severity (empty otherwise).',
  })
  vulnerabilities!: VulnerabilityCount[];

  @Field(() => String, {
    nullable: true,
    description: 'Why the statement could not be parsed, if it could not.',
  })
  parseError!: string | null;
}

@ObjectType({ description: 'A package listed by an SBOM.' })
export class Package {
  @Field({ description: 'Package name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'Package version.' })
  version!: string | null;

  @Field(() => String, { nullable: true, description: 'Package URL (purl).' })
  purl!: string | null;

  @Field(() => [String], { description: 'Declared licenses.' })
  licenses!: string[];
}

@ObjectType({ description: 'A package in a list.' })
export class PackageEdge {
  @Field({ description: 'Opaque cursor of this edge.' })
  cursor!: string;

  @Field(() => Package, { description: 'The package.' })
  node!: Package;
}

@ObjectType({ description: 'A page of SBOM packages, in the order the SBOM was stored.' })
export class PackageConnection {
  @Field(() => [PackageEdge], { description: 'Packages on this page.' })
  edges!: PackageEdge[];

  @Field(() => PageInfo, { description: 'Paging information.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'A software bill of materials describing an artifact.' })
export class Sbom {
  /** Row id, used to page packages; not exposed. */
  id!: number;

  @Field({ description: 'Digest of the SBOM artifact.' })
  artifactDigest!: string;

  @Field({ description: 'Format: `spdx` or `cyclonedx`.' })
  format!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Specification version, e.g. `2.3` or `3.0.1` (SPDX), `1.7` (CycloneDX).',
  })
  specVersion!: string | null;

  @Field(() => String, { nullable: true, description: 'Document name.' })
  name!: string | null;

  @Field(() => Int, { description: 'Number of packages listed.' })
  packageCount!: number;

  @Field(() => String, { nullable: true, description: 'Why the SBOM could not be parsed, if it could not.' })
  parseError!: string | null;
}
