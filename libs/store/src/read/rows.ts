// Row shapes and column lists shared by the read statements.
import type { ArtifactRow, ListedDescriptor, SignatureRow } from '../query.rows.js';

/** A referrer of a subject with its referrer artifact, or only the descriptor of a tag-schema listing. */
export interface ReferrerRow {
  subject: string;
  digest: string;
  edgeKind: string;
  artifact: ArtifactRow | null;
  descriptor: ListedDescriptor | null;
  /** Signatures over the referrer, visible to the caller. */
  signatures: SignatureRow[];
}

export interface SbomRow {
  id: number;
  artifactDigest: string;
  subjectDigest: string;
  format: string;
  specVersion: string | null;
  name: string | null;
  packageCount: number;
  parseError: string | null;
}

export interface ArtifactListFilter {
  kind?: string;
  artifactType?: string;
  registry?: string;
  repository?: string;
}

/** Columns of a verification row `s`, joined to its repository `sr` and registry `sg`. */
export const SIGNATURE_COLUMNS = `s.artifact_digest AS "artifactDigest", s.layer_digest AS "layerDigest",
  s.subject_digest AS "subjectDigest", s.kind, sg.name || '/' || sr.name AS repository,
  s.format, s.status, s.reason, s.message, s.identity, s.issuer, s.key_id AS "keyId", s.authority,
  s.tlog_index::float8 AS "tlogIndex", s.integrated_time AS "integratedTime", s.policy_version AS "policyVersion",
  s.verified_at AS "verifiedAt"`;

/** The joins SIGNATURE_COLUMNS needs. */
export const SIGNATURE_JOINS = `JOIN repository sr ON sr.id = s.repository_id JOIN registry sg ON sg.id = sr.registry_id`;

/** A signature row as JSON carries its timestamps as ISO 8601 strings. */
export type SignatureJson = Omit<SignatureRow, 'integratedTime' | 'verifiedAt'> & {
  integratedTime: string | null;
  verifiedAt: string;
};

export function fromSignatureJson(s: SignatureJson): SignatureRow {
  return {
    ...s,
    integratedTime: s.integratedTime === null ? null : new Date(s.integratedTime),
    verifiedAt: new Date(s.verifiedAt),
  };
}

export function normaliseArtifact(r: ArtifactRow): ArtifactRow {
  return {
    digest: r.digest,
    mediaType: r.mediaType,
    artifactType: r.artifactType ?? null,
    kind: r.kind,
    size: Number(r.size),
    subjectDigest: r.subjectDigest ?? null,
    annotations: r.annotations ?? {},
  };
}
