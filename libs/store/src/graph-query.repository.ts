import type { Database } from './database.js';
import {
  ARTIFACT_BY_DIGEST,
  KIND_SQL,
  scopeRegex,
  type ArtifactRow,
  type AttestationRow,
  type PackageRow,
  type ReferrerKindFilter,
  type RepositoryScope,
  type SignatureRow,
} from './query.rows.js';

/** A referrer of a subject with its referrer artifact, or only the descriptor of a tag-schema listing. */
export interface ReferrerRow {
  subject: string;
  digest: string;
  edgeKind: string;
  artifact: ArtifactRow | null;
  descriptor: {
    mediaType?: string;
    size?: number;
    artifactType?: string;
    annotations?: Record<string, string>;
  } | null;
  /** Signatures over the referrer, limited by scope like `findSignatures`. */
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

const ARTIFACT = `a.digest, a.media_type AS "mediaType", a.artifact_type AS "artifactType", a.kind, a.size,
  a.subject_digest AS "subjectDigest", a.annotations`;

const SIGNATURE = `s.artifact_digest AS "artifactDigest", s.layer_digest AS "layerDigest", s.subject_digest AS "subjectDigest",
  s.format, s.status, s.reason, s.message, s.identity, s.issuer, s.key_id AS "keyId", s.authority,
  s.tlog_index AS "tlogIndex", s.integrated_time AS "integratedTime", s.policy_version AS "policyVersion",
  s.verified_at AS "verifiedAt"`;

/** `$n` is a scope regex or '': true when the digest is present in a repository the scope allows. */
function presentInScope(digestExpr: string, param: number): string {
  return `($${param}::text = '' OR EXISTS (
    SELECT 1 FROM artifact_location sl JOIN repository sr ON sr.id = sl.repository_id JOIN registry sg ON sg.id = sr.registry_id
    WHERE sl.digest = ${digestExpr} AND sl.present AND (sg.name || '/' || sr.name) ~ $${param}))`;
}

const scopeParam = (scope: RepositoryScope) => (scope ? scopeRegex(scope) : '');

/**
 * Batch reads for GraphQL: every method answers many keys in one statement (per-key pages use
 * window functions), so per-request DataLoaders keep a nested query to a handful of statements.
 */
export class GraphQueryRepository {
  constructor(private readonly db: Database) {}

  /**
   * Artifacts present somewhere in scope, by digest order after `after`. The cursor is repeated
   * on artifact_location (l.digest = a.digest): without it a merge join reads every location
   * before the cursor (4.5 s at a million artifacts for a page near the end).
   */
  async listArtifacts(opts: {
    filter: ArtifactListFilter;
    scope: RepositoryScope;
    after?: string;
    limit: number;
  }): Promise<ArtifactRow[]> {
    const f = opts.filter;
    const { rows } = await this.db.pool.query<ArtifactRow>(
      `SELECT ${ARTIFACT} FROM artifact a
       WHERE a.digest > $1 AND ($2::text = '' OR a.kind = $2) AND ($3::text = '' OR a.artifact_type = $3)
         AND EXISTS (
           SELECT 1 FROM artifact_location l JOIN repository r ON r.id = l.repository_id JOIN registry g ON g.id = r.registry_id
           WHERE l.digest = a.digest AND l.digest > $1 AND l.present
             AND ($4::text = '' OR g.name = $4) AND ($5::text = '' OR r.name = $5)
             AND ($6::text = '' OR (g.name || '/' || r.name) ~ $6))
       ORDER BY a.digest LIMIT $7`,
      [
        opts.after ?? '',
        f.kind ?? '',
        f.artifactType ?? '',
        f.registry ?? '',
        f.repository ?? '',
        scopeParam(opts.scope),
        opts.limit,
      ],
    );
    return rows.map(normaliseArtifact);
  }

  /**
   * Direct referrers of many subjects, each subject paged on its own (by referrer digest, up to
   * `limit` rows per subject). Same visibility rule as the referrers API: no index children, edge
   * repository in scope, referrer not deleted from that repository. Each row carries the
   * signatures over its referrer, as `findSignatures(..., 'subject', scope)` returns them.
   */
  async findReferrerPages(opts: {
    subjects: string[];
    scope: RepositoryScope;
    artifactType?: string;
    kind?: ReferrerKindFilter;
    after?: string;
    limit: number;
  }): Promise<ReferrerRow[]> {
    if (opts.subjects.length === 0) return [];
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      `WITH visible AS (
         SELECT DISTINCT ON (e.subject_digest, e.referrer_digest)
                e.subject_digest, e.referrer_digest, e.kind AS edge_kind, e.descriptor
         FROM edge e
         WHERE e.subject_digest = ANY($1) AND e.referrer_digest > $2 AND e.kind <> 'index-child'
           AND ($3::text = '' OR EXISTS (SELECT 1 FROM repository sr JOIN registry sg ON sg.id = sr.registry_id
                                       WHERE sr.id = e.repository_id AND (sg.name || '/' || sr.name) ~ $3))
           AND NOT EXISTS (SELECT 1 FROM artifact_location l
                           WHERE l.repository_id = e.repository_id AND l.digest = e.referrer_digest AND NOT l.present)
         ORDER BY e.subject_digest, e.referrer_digest, e.kind
       ),
       ranked AS (
         SELECT v.*, ${ARTIFACT}, a.digest IS NOT NULL AS known,
                row_number() OVER (PARTITION BY v.subject_digest ORDER BY v.referrer_digest) AS n
         FROM visible v LEFT JOIN LATERAL (${ARTIFACT_BY_DIGEST('v.referrer_digest')}) a ON true
         WHERE ($4::text = '' OR COALESCE(a.artifact_type, v.descriptor->>'artifactType') = $4)
           AND ${opts.kind ? KIND_SQL[opts.kind] : 'true'}
       )
       SELECT r.*, (
         SELECT json_agg(x ORDER BY x."artifactDigest", x."layerDigest")
         FROM (SELECT ${SIGNATURE} FROM signature s
               WHERE s.subject_digest = r.referrer_digest AND ${presentInScope('s.artifact_digest', 3)}) x
       ) AS signatures
       FROM ranked r WHERE n <= $5 ORDER BY subject_digest, referrer_digest`,
      [opts.subjects, opts.after ?? '', scopeParam(opts.scope), opts.artifactType ?? '', opts.limit],
    );
    return rows.map((r) => ({
      subject: r.subject_digest as string,
      digest: r.referrer_digest as string,
      edgeKind: r.edge_kind as string,
      artifact: r.known ? normaliseArtifact(r as unknown as ArtifactRow) : null,
      descriptor: (r.descriptor as ReferrerRow['descriptor']) ?? null,
      signatures: ((r.signatures as SignatureJson[] | null) ?? []).map(fromSignatureJson),
    }));
  }

  /**
   * Signature records by subject or by signature artifact. With a scope, only signatures whose
   * artifact is present in a repository in scope: a caller never sees content it cannot read.
   */
  async findSignatures(
    digests: string[],
    by: 'subject' | 'artifact',
    scope: RepositoryScope,
  ): Promise<SignatureRow[]> {
    if (digests.length === 0) return [];
    const column = by === 'subject' ? 's.subject_digest' : 's.artifact_digest';
    const { rows } = await this.db.pool.query<SignatureRow>(
      `SELECT ${SIGNATURE} FROM signature s WHERE ${column} = ANY($1) AND ${presentInScope('s.artifact_digest', 2)}
       ORDER BY s.subject_digest, s.artifact_digest, s.layer_digest`,
      [digests, scopeParam(scope)],
    );
    return rows;
  }

  /** Parsed attestation statements by subject or by attestation artifact, limited like signatures. */
  async findAttestations(
    digests: string[],
    by: 'subject' | 'artifact',
    scope: RepositoryScope,
  ): Promise<AttestationRow[]> {
    if (digests.length === 0) return [];
    const column = by === 'subject' ? 't.subject_digest' : 't.artifact_digest';
    const { rows } = await this.db.pool.query<AttestationRow>(
      `SELECT t.artifact_digest AS "artifactDigest", t.layer_digest AS "layerDigest", t.subject_digest AS "subjectDigest",
              t.predicate_type AS "predicateType", t.builder_id AS "builderId", t.build_type AS "buildType",
              t.source_repo AS "sourceRepo", t.source_revision AS "sourceRevision", t.vuln_counts AS "vulnCounts",
              t.parse_error AS "parseError"
       FROM attestation t WHERE ${column} = ANY($1) AND ${presentInScope('t.artifact_digest', 2)}
       ORDER BY t.subject_digest, t.predicate_type, t.artifact_digest, t.layer_digest`,
      [digests, scopeParam(scope)],
    );
    return rows;
  }

  /** SBOMs describing the given subjects, limited like signatures. */
  async findSboms(subjects: string[], scope: RepositoryScope): Promise<SbomRow[]> {
    if (subjects.length === 0) return [];
    const { rows } = await this.db.pool.query<SbomRow>(
      `SELECT b.id, b.artifact_digest AS "artifactDigest", b.subject_digest AS "subjectDigest", b.format,
              b.spec_version AS "specVersion", b.name, b.package_count AS "packageCount", b.parse_error AS "parseError"
       FROM sbom b WHERE b.subject_digest = ANY($1) AND ${presentInScope('b.artifact_digest', 2)}
       ORDER BY b.subject_digest, b.parse_error NULLS FIRST, b.artifact_digest, b.id`,
      [subjects, scopeParam(scope)],
    );
    return rows;
  }

  /** Packages of many SBOMs, each paged on its own by package id. */
  async findSbomPackages(
    sbomIds: number[],
    opts: { query?: string; after?: number; limit: number },
  ): Promise<Array<PackageRow & { id: number; sbomId: number }>> {
    if (sbomIds.length === 0) return [];
    const { rows } = await this.db.pool.query<PackageRow & { id: number; sbomId: number }>(
      `SELECT id, "sbomId", name, version, purl, licenses FROM (
         SELECT p.id, p.sbom_id AS "sbomId", p.name, p.version, p.purl, COALESCE(p.licenses, '{}') AS licenses,
                row_number() OVER (PARTITION BY p.sbom_id ORDER BY p.id) AS n
         FROM sbom_package p
         WHERE p.sbom_id = ANY($1::bigint[]) AND p.id > $2
           AND ($3::text IS NULL OR p.name ILIKE '%' || $3 || '%' OR p.purl ILIKE '%' || $3 || '%')
       ) x WHERE n <= $4 ORDER BY "sbomId", id`,
      [sbomIds, opts.after ?? 0, opts.query ?? null, opts.limit],
    );
    return rows;
  }

  /** `registry/repository` of repository ids (graph notifications carry only the id). */
  async findRepositoryPaths(ids: number[]): Promise<Map<number, { registry: string; repository: string }>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.pool.query<{ id: number; registry: string; repository: string }>(
      `SELECT r.id, g.name AS registry, r.name AS repository
       FROM repository r JOIN registry g ON g.id = r.registry_id WHERE r.id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(rows.map((r) => [Number(r.id), { registry: r.registry, repository: r.repository }]));
  }
}

/** A signature row as JSON carries its timestamps as ISO 8601 strings. */
type SignatureJson = Omit<SignatureRow, 'integratedTime' | 'verifiedAt'> & {
  integratedTime: string | null;
  verifiedAt: string;
};

function fromSignatureJson(s: SignatureJson): SignatureRow {
  return {
    ...s,
    integratedTime: s.integratedTime === null ? null : new Date(s.integratedTime),
    verifiedAt: new Date(s.verifiedAt),
  };
}

function normaliseArtifact(r: ArtifactRow): ArtifactRow {
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
