// The read side's one repository: every statement takes the caller's scope first and applies the
// visibility rule of ./visibility.ts inside the statement. Only libs/answers calls it.
import type { ReadSource } from './replicas.js';
import {
  ARTIFACT_COLUMNS,
  KIND_SQL,
  toArtifact,
  type ArtifactRow,
  type Location,
  type ReferrerEdgeRow,
  type ReferrerKindFilter,
  type RepositoryScope,
} from '../query.rows.js';
import type { ArtifactListFilter, ReferrerRow } from './rows.js';
import { fromSignatureJson, normaliseArtifact, SIGNATURE_COLUMNS, type SignatureJson } from './rows.js';
import {
  edgeVisible,
  presentInScope,
  repositoryInScope,
  scopeParam,
  verificationVisible,
  visibleArtifact,
} from './visibility.js';
import { VulnerabilityReads } from './vulnerability.reads.js';

const ARTIFACT = `a.digest, a.media_type AS "mediaType", a.artifact_type AS "artifactType", a.kind, a.size,
  a.subject_digest AS "subjectDigest", a.annotations`;

export interface RegistrySummaryRow {
  name: string;
  kind: string;
  url: string;
  referrersApi: boolean | null;
  /** Only for callers who may read every repository: any repository's delivery moves it. */
  lastEventAt: Date | null;
  /** Repositories in the caller's scope. */
  repositories: number;
  /** Failed events: only for callers who may read every repository. */
  failedEvents: number | null;
}

/** Graph reads (tags, artifacts, locations, edges); evidence reads live in EvidenceReads and VulnerabilityReads. */
export class ReadRepository extends VulnerabilityReads {
  constructor(db: ReadSource) {
    super(db);
  }

  /** Registries with at least one repository in scope (every registry for an unlimited scope). */
  async listRegistries(scope: RepositoryScope, configured: string[]): Promise<RegistrySummaryRow[]> {
    const { rows } = await this.db.pool.query(
      `SELECT g.name, g.kind, g.base_url AS url, g.referrers_api AS "referrersApi",
              CASE WHEN $1::text = '' THEN g.last_event_at END AS "lastEventAt",
              (SELECT count(*)::int FROM repository r WHERE r.registry_id = g.id AND ${repositoryInScope('r.id', 1)}) AS repositories,
              CASE WHEN $1::text = '' THEN (SELECT count(*)::int FROM webhook_event w WHERE w.registry_id = g.id AND w.status = 'failed') END AS "failedEvents"
       FROM registry g WHERE g.name = ANY($2)
       ORDER BY g.name`,
      [scopeParam(scope), configured],
    );
    const out = rows as RegistrySummaryRow[];
    return scope === undefined ? out : out.filter((r) => r.repositories > 0);
  }

  /** The digest each tag names now, where the tag's repository is in scope (null elsewhere). */
  async findTags(
    scope: RepositoryScope,
    refs: Array<{ registry: string; repository: string; tag: string }>,
  ): Promise<Array<string | null>> {
    if (refs.length === 0) return [];
    const { rows } = await this.db.pool.query<{ i: number; digest: string | null }>(
      `SELECT q.i::int AS i, t.digest
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS q(registry, repository, tag, i)
       JOIN registry g ON g.name = q.registry
       JOIN repository r ON r.registry_id = g.id AND r.name = q.repository
       JOIN tag t ON t.repository_id = r.id AND t.name = q.tag
       WHERE ($4::text = '' OR (g.name || '/' || r.name) ~ $4)`,
      [refs.map((r) => r.registry), refs.map((r) => r.repository), refs.map((r) => r.tag), scopeParam(scope)],
    );
    const out = refs.map((): string | null => null);
    for (const r of rows) out[r.i - 1] = r.digest;
    return out;
  }

  /** Artifacts present in a repository in scope; others do not exist for the caller. */
  async findArtifacts(scope: RepositoryScope, digests: string[]): Promise<ArtifactRow[]> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query(
      `SELECT ${ARTIFACT_COLUMNS} FROM artifact a WHERE a.digest = ANY($1) AND ${presentInScope('a.digest', 2)}`,
      [digests, scopeParam(scope)],
    );
    return rows.map((r) => toArtifact(r as Record<string, unknown>));
  }

  /** Where each digest is present in scope, with its tags there. */
  async findLocations(
    scope: RepositoryScope,
    digests: string[],
    limit = 1000,
    tagLimit = 1000,
  ): Promise<Map<string, Location[]>> {
    const out = new Map<string, Location[]>();
    if (digests.length === 0) return out;
    const { rows } = await this.db.pool.query<{
      digest: string;
      registry: string;
      repository: string;
      tags: string[];
    }>(
      `SELECT digest, registry, repository, tags[1:$4] AS tags FROM (
         SELECT l.digest, g.name AS registry, r.name AS repository,
                COALESCE(array_agg(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL), '{}') AS tags,
                row_number() OVER (PARTITION BY l.digest ORDER BY g.name, r.name) AS n
         FROM artifact_location l
         JOIN repository r ON r.id = l.repository_id JOIN registry g ON g.id = r.registry_id
         LEFT JOIN tag t ON t.repository_id = l.repository_id AND t.digest = l.digest
         WHERE l.digest = ANY($1) AND l.present AND ($2::text = '' OR (g.name || '/' || r.name) ~ $2)
         GROUP BY l.digest, g.name, r.name) x
       WHERE n <= $3 ORDER BY registry, repository`,
      [digests, scopeParam(scope), limit, tagLimit],
    );
    for (const r of rows) {
      const list = out.get(r.digest) ?? [];
      list.push({ registry: r.registry, repository: r.repository, tags: r.tags });
      out.set(r.digest, list);
    }
    return out;
  }

  /**
   * Referrers of several subjects, down to `depth` levels (signatures of attestations, ...), one
   * row per (subject, referrer). Pagination applies to the first level, by referrer digest.
   */
  async findReferrerTree(
    scope: RepositoryScope,
    opts: {
      subjects: string[];
      depth: number;
      artifactType?: string;
      kind?: ReferrerKindFilter;
      after?: string;
      limit: number;
    },
  ): Promise<ReferrerEdgeRow[]> {
    const filters = [
      `($5::text = '' OR COALESCE(a.artifact_type, w.descriptor->>'artifactType') = $5)`,
      opts.kind ? KIND_SQL[opts.kind] : 'true',
    ].join(' AND ');
    // The walk keeps one row per (subject, referrer, depth): mirrors of the same edge in several
    // repositories, and several paths to the same referrer, cost one row each, not one per path.
    const { rows } = await this.db.pool.query(
      `WITH RECURSIVE first AS (
         SELECT DISTINCT ON (e.subject_digest, e.referrer_digest)
                e.subject_digest, e.referrer_digest, e.descriptor
         FROM edge e WHERE e.subject_digest = ANY($1) AND e.referrer_digest > $2 AND e.kind <> 'index-child'
           AND ${edgeVisible('e', 4)}
         ORDER BY e.subject_digest, e.referrer_digest
       ),
       page AS (
         SELECT w.subject_digest, w.referrer_digest FROM first w
         LEFT JOIN LATERAL (${visibleArtifact('w.referrer_digest', 4)}) a ON true
         WHERE ${filters}
         ORDER BY w.subject_digest, w.referrer_digest LIMIT $3
       ),
       walk(subject_digest, referrer_digest, depth) AS (
         SELECT p.subject_digest, p.referrer_digest, 1 FROM page p
         UNION
         SELECT e.subject_digest, e.referrer_digest, w.depth + 1
         FROM walk w JOIN edge e ON e.subject_digest = w.referrer_digest
         WHERE w.depth < $6 AND NOT e.referrer_digest = ANY($1) AND e.kind <> 'index-child' AND ${edgeVisible('e', 4)}
       ),
       nearest AS (
         SELECT DISTINCT ON (w.subject_digest, w.referrer_digest) w.subject_digest, w.referrer_digest, w.depth
         FROM walk w ORDER BY w.subject_digest, w.referrer_digest, w.depth
         LIMIT 10000
       )
       SELECT n.subject_digest AS edge_subject, n.referrer_digest, n.depth, x.kind AS edge_kind, x.descriptor,
              ${ARTIFACT_COLUMNS}
       FROM nearest n
       JOIN LATERAL (SELECT e.kind, e.descriptor FROM edge e
                     WHERE e.subject_digest = n.subject_digest AND e.referrer_digest = n.referrer_digest
                       AND e.kind <> 'index-child' AND ${edgeVisible('e', 4)}
                     ORDER BY e.kind, e.id LIMIT 1) x ON true
       LEFT JOIN LATERAL (${visibleArtifact('n.referrer_digest', 4)}) a ON true
       ORDER BY n.subject_digest, n.referrer_digest`,
      [
        opts.subjects,
        opts.after ?? '',
        opts.limit,
        scopeParam(scope),
        opts.artifactType ?? '',
        Math.max(1, opts.depth),
      ],
    );
    // The edge's subject is `edge_subject`: the artifact's own `subject_digest` (null for a cosign
    // `.sig`, whose subject is named by its tag) must never stand in for it.
    return rows.map((r: Record<string, unknown>) => ({
      subject: r.edge_subject as string,
      digest: r.referrer_digest as string,
      edgeKind: r.edge_kind as string,
      depth: r.depth as number,
      artifact: r.digest ? toArtifact(r) : null,
      descriptor: (r.descriptor as ReferrerEdgeRow['descriptor']) ?? null,
    }));
  }

  /**
   * Direct referrers of many subjects, each subject paged on its own (by referrer digest, up to
   * `limit` rows per subject). Each row carries the signatures over its referrer.
   */
  async findReferrerPages(
    scope: RepositoryScope,
    opts: {
      subjects: string[];
      artifactType?: string;
      kind?: ReferrerKindFilter;
      after?: string;
      limit: number;
    },
  ): Promise<ReferrerRow[]> {
    if (opts.subjects.length === 0) return [];
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      `WITH visible AS (
         SELECT DISTINCT ON (e.subject_digest, e.referrer_digest)
                e.subject_digest AS edge_subject, e.referrer_digest, e.kind AS edge_kind, e.descriptor
         FROM edge e
         WHERE e.subject_digest = ANY($1) AND e.referrer_digest > $2 AND e.kind <> 'index-child' AND ${edgeVisible('e', 3)}
         ORDER BY e.subject_digest, e.referrer_digest, e.kind
       ),
       ranked AS (
         SELECT v.*, ${ARTIFACT}, a.digest IS NOT NULL AS known,
                row_number() OVER (PARTITION BY v.edge_subject ORDER BY v.referrer_digest) AS n
         FROM visible v LEFT JOIN LATERAL (${visibleArtifact('v.referrer_digest', 3)}) a ON true
         WHERE ($4::text = '' OR COALESCE(a.artifact_type, v.descriptor->>'artifactType') = $4)
           AND ${opts.kind ? KIND_SQL[opts.kind] : 'true'}
       )
       SELECT r.*, (
         SELECT json_agg(x ORDER BY x."artifactDigest", x."layerDigest", x.repository)
         FROM (SELECT ${SIGNATURE_COLUMNS} FROM signature s JOIN repository sr ON sr.id = s.repository_id
               JOIN registry sg ON sg.id = sr.registry_id
               WHERE s.subject_digest = r.referrer_digest AND s.kind = 'signature' AND ${verificationVisible('s', 3)}
               LIMIT 100) x
       ) AS signatures
       FROM ranked r WHERE n <= $5 ORDER BY edge_subject, referrer_digest`,
      [opts.subjects, opts.after ?? '', scopeParam(scope), opts.artifactType ?? '', opts.limit],
    );
    return rows.map((r) => ({
      subject: r.edge_subject as string,
      digest: r.referrer_digest as string,
      edgeKind: r.edge_kind as string,
      artifact: r.known ? normaliseArtifact(r as unknown as ArtifactRow) : null,
      descriptor: (r.descriptor as ReferrerRow['descriptor']) ?? null,
      signatures: ((r.signatures as SignatureJson[] | null) ?? []).map(fromSignatureJson),
    }));
  }

  /** Index children of the given indexes, as stored for repositories in scope (at most `limit` each). */
  async findChildren(
    scope: RepositoryScope,
    digests: string[],
    limit: number,
  ): Promise<Array<{ parent: string; digest: string; descriptor: unknown }>> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query(
      `SELECT parent, digest, descriptor FROM (
         SELECT d.*, row_number() OVER (PARTITION BY d.parent ORDER BY d.digest) AS n FROM (
           SELECT DISTINCT ON (e.subject_digest, e.referrer_digest)
                  e.subject_digest AS parent, e.referrer_digest AS digest, e.descriptor
           FROM edge e WHERE e.kind = 'index-child' AND e.subject_digest = ANY($1) AND ${edgeVisible('e', 2)}
           ORDER BY e.subject_digest, e.referrer_digest) d) x
       WHERE n <= $3 ORDER BY parent, digest`,
      [digests, scopeParam(scope), limit],
    );
    return rows as Array<{ parent: string; digest: string; descriptor: unknown }>;
  }

  /** Indexes listing the given manifests, in repositories in scope (at most `limit` each). */
  async findParents(
    scope: RepositoryScope,
    digests: string[],
    limit: number,
  ): Promise<Array<{ child: string; digest: string }>> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query(
      `SELECT child, digest FROM (
         SELECT d.*, row_number() OVER (PARTITION BY d.child ORDER BY d.digest) AS n FROM (
           SELECT DISTINCT e.referrer_digest AS child, e.subject_digest AS digest
           FROM edge e WHERE e.kind = 'index-child' AND e.referrer_digest = ANY($1) AND ${repositoryInScope('e.repository_id', 2)}
             AND ${presentInScope('e.subject_digest', 2)}) d) x
       WHERE n <= $3 ORDER BY child, digest`,
      [digests, scopeParam(scope), limit],
    );
    return rows as Array<{ child: string; digest: string }>;
  }

  /**
   * Artifacts present somewhere in scope, by digest order after `after`. The cursor is repeated
   * on artifact_location (l.digest = a.digest): without it a merge join reads every location
   * before the cursor (4.5 s at a million artifacts for a page near the end).
   */
  async listArtifacts(
    scope: RepositoryScope,
    opts: { filter: ArtifactListFilter; after?: string; limit: number },
  ): Promise<ArtifactRow[]> {
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
        scopeParam(scope),
        opts.limit,
      ],
    );
    return rows.map(normaliseArtifact);
  }

  /**
   * Whether the verification result of `repositoryId` over `artifact` for `subject` is visible to
   * `scope`: the rule of verificationVisible, applied to one notified row.
   */
  async verificationVisible(
    scope: RepositoryScope,
    row: { artifact: string; subject: string; repositoryId: number },
  ): Promise<boolean> {
    const { rows } = await this.db.pool.query(
      `SELECT 1 FROM (VALUES ($1::bigint, $2::text, $3::text)) AS s(repository_id, artifact_digest, subject_digest)
       WHERE ${verificationVisible('s', 4)}`,
      [row.repositoryId, row.artifact, row.subject, scopeParam(scope)],
    );
    return rows.length > 0;
  }

  /** `registry/repository` of repository ids in scope (graph notifications carry only the id). */
  async findRepositoryPaths(
    scope: RepositoryScope,
    ids: number[],
  ): Promise<Map<number, { registry: string; repository: string }>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db.pool.query<{ id: number; registry: string; repository: string }>(
      `SELECT r.id, g.name AS registry, r.name AS repository
       FROM repository r JOIN registry g ON g.id = r.registry_id
       WHERE r.id = ANY($1::bigint[]) AND ($2::text = '' OR (g.name || '/' || r.name) ~ $2)`,
      [ids, scopeParam(scope)],
    );
    return new Map(rows.map((r) => [Number(r.id), { registry: r.registry, repository: r.repository }]));
  }
}
