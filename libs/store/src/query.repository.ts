import type { Database } from './database.js';
import {
  ARTIFACT_BY_DIGEST,
  ARTIFACT_COLUMNS,
  KIND_SQL,
  scopeRegex,
  toArtifact,
  type ArtifactRow,
  type AttestationRow,
  type Location,
  type PackageRow,
  type ReferrerEdgeRow,
  type ReferrerKindFilter,
  type RepositoryScope,
  type SignatureRow,
} from './query.rows.js';

export * from './query.rows.js';

/** Read side for the REST API, GraphQL and the CLI: every answer comes from stored rows. */
export class QueryRepository {
  constructor(private readonly db: Database) {}

  /**
   * A referrer edge counts when it is not an index child, its repository is in scope, and the
   * referrer has not been deleted from that repository (the referrers API's rule).
   */
  private visibleSql(scopeParam: number): string {
    return `e.kind <> 'index-child' AND ${this.scopeSql(scopeParam)}
      AND NOT EXISTS (SELECT 1 FROM artifact_location l
                      WHERE l.repository_id = e.repository_id AND l.digest = e.referrer_digest AND NOT l.present)`;
  }

  /** A repository in scope: `registry/repository` matches the scope's regular expression ('' is no scope). */
  private scopeSql(param: number, alias = 'e'): string {
    return `($${param}::text = '' OR EXISTS (SELECT 1 FROM repository sr JOIN registry sg ON sg.id = sr.registry_id
             WHERE sr.id = ${alias}.repository_id AND (sg.name || '/' || sr.name) ~ $${param}))`;
  }

  async listRegistries(): Promise<
    Array<{
      name: string;
      kind: string;
      url: string;
      referrersApi: boolean | null;
      lastEventAt: Date | null;
      repositories: number;
      failedEvents: number;
    }>
  > {
    const { rows } = await this.db.pool.query(
      `SELECT g.name, g.kind, g.base_url AS url, g.referrers_api AS "referrersApi", g.last_event_at AS "lastEventAt",
              (SELECT count(*)::int FROM repository r WHERE r.registry_id = g.id) AS repositories,
              (SELECT count(*)::int FROM webhook_event w WHERE w.registry_id = g.id AND w.status = 'failed') AS "failedEvents"
       FROM registry g ORDER BY g.name`,
    );
    return rows as never;
  }

  /** The digest each tag names now (null where the tag is unknown or deleted), in one statement. */
  async findTags(
    refs: Array<{ registry: string; repository: string; tag: string }>,
  ): Promise<Array<string | null>> {
    if (refs.length === 0) return [];
    const { rows } = await this.db.pool.query<{ i: number; digest: string | null }>(
      `SELECT q.i::int AS i, t.digest
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS q(registry, repository, tag, i)
       JOIN registry g ON g.name = q.registry
       JOIN repository r ON r.registry_id = g.id AND r.name = q.repository
       JOIN tag t ON t.repository_id = r.id AND t.name = q.tag`,
      [refs.map((r) => r.registry), refs.map((r) => r.repository), refs.map((r) => r.tag)],
    );
    const out = refs.map((): string | null => null);
    for (const r of rows) out[r.i - 1] = r.digest;
    return out;
  }

  async findArtifacts(digests: string[]): Promise<ArtifactRow[]> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query(
      `SELECT ${ARTIFACT_COLUMNS} FROM artifact a WHERE a.digest = ANY($1)`,
      [digests],
    );
    return rows.map((r) => toArtifact(r as Record<string, unknown>));
  }

  /** Where each digest is present, with its tags there; digests outside the scope have none. */
  async findLocations(digests: string[], scope: RepositoryScope): Promise<Map<string, Location[]>> {
    const out = new Map<string, Location[]>();
    if (digests.length === 0) return out;
    const { rows } = await this.db.pool.query<{
      digest: string;
      registry: string;
      repository: string;
      tags: string[];
    }>(
      `SELECT l.digest, g.name AS registry, r.name AS repository,
              COALESCE(array_agg(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL), '{}') AS tags
       FROM artifact_location l
       JOIN repository r ON r.id = l.repository_id JOIN registry g ON g.id = r.registry_id
       LEFT JOIN tag t ON t.repository_id = l.repository_id AND t.digest = l.digest
       WHERE l.digest = ANY($1) AND l.present AND ($2::text IS NULL OR (g.name || '/' || r.name) ~ $2)
       GROUP BY l.digest, g.name, r.name ORDER BY g.name, r.name`,
      [digests, scope ? scopeRegex(scope) : null],
    );
    for (const r of rows) {
      const list = out.get(r.digest) ?? [];
      list.push({ registry: r.registry, repository: r.repository, tags: r.tags });
      out.set(r.digest, list);
    }
    return out;
  }

  /**
   * Referrers of several subjects at once, down to `depth` levels (signatures of attestations, ...),
   * one row per (subject, referrer). Pagination applies to the first level, by referrer digest.
   */
  async findReferrerTree(opts: {
    subjects: string[];
    depth: number;
    scope: RepositoryScope;
    artifactType?: string;
    kind?: ReferrerKindFilter;
    after?: string;
    limit: number;
  }): Promise<ReferrerEdgeRow[]> {
    const filters = [
      `($5::text = '' OR COALESCE(a.artifact_type, w.descriptor->>'artifactType') = $5)`,
      opts.kind ? KIND_SQL[opts.kind] : 'true',
    ].join(' AND ');
    const { rows } = await this.db.pool.query(
      `WITH RECURSIVE first AS (
         SELECT DISTINCT ON (e.subject_digest, e.referrer_digest)
                e.subject_digest, e.referrer_digest, e.kind, e.descriptor, 1 AS depth
         FROM edge e WHERE e.subject_digest = ANY($1) AND e.referrer_digest > $2 AND ${this.visibleSql(4)}
         ORDER BY e.subject_digest, e.referrer_digest
       ),
       page AS (
         SELECT w.* FROM first w LEFT JOIN LATERAL (${ARTIFACT_BY_DIGEST('w.referrer_digest')}) a ON true
         WHERE ${filters}
         ORDER BY w.subject_digest, w.referrer_digest LIMIT $3
       ),
       walk AS (
         SELECT p.subject_digest, p.referrer_digest, p.kind, p.descriptor, p.depth,
                ARRAY[p.subject_digest, p.referrer_digest] AS path
         FROM page p
         UNION ALL
         SELECT e.subject_digest, e.referrer_digest, e.kind, e.descriptor, w.depth + 1, w.path || e.referrer_digest
         FROM walk w JOIN edge e ON e.subject_digest = w.referrer_digest
         WHERE w.depth < $6 AND NOT e.referrer_digest = ANY(w.path) AND ${this.visibleSql(4)}
       )
       SELECT DISTINCT ON (w.subject_digest, w.referrer_digest)
              w.subject_digest, w.referrer_digest, w.kind AS edge_kind, w.depth, w.descriptor,
              ${ARTIFACT_COLUMNS}
       FROM walk w LEFT JOIN LATERAL (${ARTIFACT_BY_DIGEST('w.referrer_digest')}) a ON true
       ORDER BY w.subject_digest, w.referrer_digest, w.depth
       LIMIT 10000`,
      [
        opts.subjects,
        opts.after ?? '',
        opts.limit,
        opts.scope ? scopeRegex(opts.scope) : '',
        opts.artifactType ?? '',
        Math.max(1, opts.depth),
      ],
    );
    return rows.map((r: Record<string, unknown>) => ({
      subject: r.subject_digest as string,
      digest: r.referrer_digest as string,
      edgeKind: r.edge_kind as string,
      depth: r.depth as number,
      artifact: r.digest ? toArtifact(r) : null,
      descriptor: (r.descriptor as ReferrerEdgeRow['descriptor']) ?? null,
    }));
  }

  /** Index children (and the index's own parents) as stored for every repository in scope. */
  async findChildren(
    digests: string[],
    scope: RepositoryScope,
  ): Promise<Array<{ parent: string; digest: string; descriptor: unknown }>> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query(
      `SELECT DISTINCT ON (e.subject_digest, e.referrer_digest) e.subject_digest AS parent, e.referrer_digest AS digest, e.descriptor
       FROM edge e WHERE e.kind = 'index-child' AND e.subject_digest = ANY($1) AND ${this.scopeSql(2)}
       ORDER BY e.subject_digest, e.referrer_digest`,
      [digests, scope ? scopeRegex(scope) : ''],
    );
    return rows as Array<{ parent: string; digest: string; descriptor: unknown }>;
  }

  async findParents(
    digests: string[],
    scope: RepositoryScope,
  ): Promise<Array<{ child: string; digest: string }>> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query(
      `SELECT DISTINCT e.referrer_digest AS child, e.subject_digest AS digest
       FROM edge e WHERE e.kind = 'index-child' AND e.referrer_digest = ANY($1) AND ${this.scopeSql(2)}`,
      [digests, scope ? scopeRegex(scope) : ''],
    );
    return rows as Array<{ child: string; digest: string }>;
  }

  /** Signatures over the given subjects, or (by artifact) the verification of signature artifacts. */
  async findSignatures(digests: string[], by: 'subject' | 'artifact' = 'subject'): Promise<SignatureRow[]> {
    if (digests.length === 0) return [];
    const column = by === 'subject' ? 'subject_digest' : 'artifact_digest';
    const { rows } = await this.db.pool.query(
      `SELECT artifact_digest, layer_digest, subject_digest, format, status, reason, message, identity, issuer,
              key_id, authority, tlog_index, integrated_time, policy_version, verified_at
       FROM signature WHERE ${column} = ANY($1) ORDER BY subject_digest, artifact_digest, layer_digest`,
      [digests],
    );
    return rows.map((r: Record<string, unknown>) => ({
      artifactDigest: r.artifact_digest as string,
      layerDigest: r.layer_digest as string,
      subjectDigest: r.subject_digest as string,
      format: r.format as string,
      status: r.status as string,
      reason: (r.reason as string | null) ?? null,
      message: (r.message as string | null) ?? null,
      identity: (r.identity as string | null) ?? null,
      issuer: (r.issuer as string | null) ?? null,
      keyId: (r.key_id as string | null) ?? null,
      authority: (r.authority as string | null) ?? null,
      tlogIndex: (r.tlog_index as number | null) ?? null,
      integratedTime: (r.integrated_time as Date | null) ?? null,
      policyVersion: r.policy_version as string,
      verifiedAt: r.verified_at as Date,
    }));
  }

  async findAttestations(
    digests: string[],
    opts: { predicateType?: string; by?: 'subject' | 'artifact' } = {},
  ): Promise<AttestationRow[]> {
    if (digests.length === 0) return [];
    const column = opts.by === 'artifact' ? 'artifact_digest' : 'subject_digest';
    const { rows } = await this.db.pool.query(
      `SELECT artifact_digest, layer_digest, subject_digest, predicate_type, builder_id, build_type, source_repo,
              source_revision, vuln_counts, parse_error
       FROM attestation WHERE ${column} = ANY($1) AND ($2::text IS NULL OR predicate_type = $2)
       ORDER BY subject_digest, predicate_type, artifact_digest`,
      [digests, opts.predicateType ?? null],
    );
    return rows.map((r: Record<string, unknown>) => ({
      artifactDigest: r.artifact_digest as string,
      layerDigest: r.layer_digest as string,
      subjectDigest: r.subject_digest as string,
      predicateType: r.predicate_type as string,
      builderId: (r.builder_id as string | null) ?? null,
      buildType: (r.build_type as string | null) ?? null,
      sourceRepo: (r.source_repo as string | null) ?? null,
      sourceRevision: (r.source_revision as string | null) ?? null,
      vulnCounts: (r.vuln_counts as Record<string, number> | null) ?? null,
      parseError: (r.parse_error as string | null) ?? null,
    }));
  }

  async countSboms(subjects: string[]): Promise<Map<string, number>> {
    const { rows } = await this.db.pool.query<{ subject_digest: string; n: number }>(
      `SELECT subject_digest, count(*)::int AS n FROM sbom WHERE subject_digest = ANY($1) AND parse_error IS NULL
       GROUP BY subject_digest`,
      [subjects],
    );
    return new Map(rows.map((r) => [r.subject_digest, r.n]));
  }

  /** Packages of every SBOM of a subject, paginated by (name, version, purl) order. */
  async findPackages(
    subject: string,
    opts: { query?: string; after?: number; limit: number },
  ): Promise<Array<PackageRow & { id: number }>> {
    const { rows } = await this.db.pool.query(
      `SELECT p.id, p.name, p.version, p.purl, p.licenses
       FROM sbom_package p JOIN sbom s ON s.id = p.sbom_id
       WHERE s.subject_digest = $1 AND p.id > $2
         AND ($3::text IS NULL OR p.name ILIKE '%' || $3 || '%' OR p.purl ILIKE '%' || $3 || '%')
       ORDER BY p.id LIMIT $4`,
      [subject, opts.after ?? 0, opts.query ?? null, opts.limit],
    );
    return rows as Array<PackageRow & { id: number }>;
  }

  /** Artifacts whose SBOM lists the package: exact purl with a version, any version without one. */
  async findArtifactsByPurl(
    purl: string,
    scope: RepositoryScope,
    limit: number,
  ): Promise<Array<{ digest: string; purl: string; name: string; version: string | null }>> {
    const { rows } = await this.db.pool.query(
      `SELECT DISTINCT s.subject_digest AS digest, p.purl, p.name, p.version
       FROM sbom_package p JOIN sbom s ON s.id = p.sbom_id
       WHERE (p.purl = $1 OR p.purl_base = $1)
         AND ($2::text IS NULL OR EXISTS (
           SELECT 1 FROM artifact_location l JOIN repository r ON r.id = l.repository_id JOIN registry g ON g.id = r.registry_id
           WHERE l.digest = s.subject_digest AND l.present AND (g.name || '/' || r.name) ~ $2))
       ORDER BY 1, 2 LIMIT $3`,
      [purl, scope ? scopeRegex(scope) : null, limit],
    );
    return rows as Array<{ digest: string; purl: string; name: string; version: string | null }>;
  }
}
