// Row shapes of the read side and the SQL fragments the query repositories share.

export type ReferrerKindFilter = 'signature' | 'attestation' | 'sbom' | 'other';

export interface ArtifactRow {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  kind: string;
  size: number;
  subjectDigest: string | null;
  annotations: Record<string, string>;
}

export interface Location {
  registry: string;
  repository: string;
  tags: string[];
}

/** The descriptor a listing (a tag-schema index, an index) gave for a referrer or child. */
export interface ListedDescriptor {
  mediaType?: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrerEdgeRow {
  subject: string;
  digest: string;
  edgeKind: string;
  depth: number;
  /** Null when the caller knows the referrer only from a listing (not stored, or not visible). */
  artifact: ArtifactRow | null;
  descriptor: ListedDescriptor | null;
}

export interface SignatureRow {
  artifactDigest: string;
  layerDigest: string;
  subjectDigest: string;
  /** `signature` (over the subject) or `attestation` (a signed statement about it). */
  kind: 'signature' | 'attestation';
  /** `<registry>/<repository>` whose trust rule produced this result. */
  repository: string;
  format: string;
  status: string;
  reason: string | null;
  message: string | null;
  identity: string | null;
  issuer: string | null;
  keyId: string | null;
  authority: string | null;
  tlogIndex: number | null;
  integratedTime: Date | null;
  policyVersion: string;
  verifiedAt: Date;
}

export interface AttestationRow {
  artifactDigest: string;
  layerDigest: string;
  subjectDigest: string;
  predicateType: string;
  builderId: string | null;
  buildType: string | null;
  sourceRepo: string | null;
  sourceRevision: string | null;
  vulnCounts: Record<string, number> | null;
  parseError: string | null;
  /** Came out of a signature envelope: evidence only where that envelope's verification says so. */
  signed: boolean;
}

export interface PackageRow {
  name: string;
  version: string | null;
  purl: string | null;
  licenses: string[];
}

/**
 * A scope limits rows to repositories matching `<registry>/<repository>` patterns (the pattern
 * language of #config); undefined: no limit.
 */
export type RepositoryScope = string[] | undefined;

export const ARTIFACT_COLUMNS = `a.digest, a.media_type, a.artifact_type, a.kind, a.size, a.subject_digest, a.annotations`;

/**
 * The artifact row of one digest, for `LEFT JOIN LATERAL (...) a ON true`. The LIMIT keeps the
 * planner from flattening it into a plain join: row counts of recursive or aggregated inputs are
 * guessed high, and a plain join then hashes the whole artifact table for a handful of rows.
 */
export const ARTIFACT_BY_DIGEST = (digest: string) =>
  `SELECT digest, media_type, artifact_type, kind, size, subject_digest, annotations FROM artifact WHERE digest = ${digest} LIMIT 1`;

export function toArtifact(r: Record<string, unknown>): ArtifactRow {
  return {
    digest: r.digest as string,
    mediaType: r.media_type as string,
    artifactType: (r.artifact_type as string | null) ?? null,
    kind: r.kind as string,
    size: r.size as number,
    subjectDigest: (r.subject_digest as string | null) ?? null,
    annotations: (r.annotations as Record<string, string>) ?? {},
  };
}

/** SQL condition on the referrer artifact `a` for each kind filter. */
export const KIND_SQL: Record<ReferrerKindFilter, string> = {
  signature: `a.kind = 'signature'`,
  attestation: `a.kind = 'attestation'`,
  sbom: `a.kind = 'sbom'`,
  other: `(a.kind IS NULL OR a.kind NOT IN ('signature', 'attestation', 'sbom'))`,
};
