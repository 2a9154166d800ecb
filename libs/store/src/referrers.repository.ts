import type { ReadSource } from './read/replicas.js';

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ReferrersQuery {
  registry: string;
  repository: string;
  subject: string;
  artifactType?: string;
  /** Exclusive cursor: the last digest of the previous page. */
  after?: string;
  limit: number;
}

/**
 * The OCI referrers API's one query, on the hot path: plain pg with a named prepared statement.
 * Referrers come from every referrer edge kind (subject, tag schema, cosign tags, BuildKit),
 * one row per referrer digest. The referrer's own stored manifest describes it; the descriptor
 * listed by a tag-schema index stands in until that manifest is fetched. A referrer deleted
 * from the repository is hidden even while a stale tag-schema index still lists it.
 *
 * Shape: the repository id is a scalar subquery (an InitPlan), so the scan of edge_identity_key
 * (repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag) has equalities
 * on its two leading columns and returns edges in referrer digest order. DISTINCT ON then keeps
 * the first edge of each referrer in index order without a sort, the artifact and presence
 * probes run once per distinct referrer, and LIMIT stops the scan at the page's last referrer:
 * a page reads the edges up to that referrer, not every edge of the subject, and the plan is the
 * same for every parameter value, custom or generic. The presence check depends only on
 * (repository, referrer), so applying it after DISTINCT ON hides the same referrers as applying
 * it per edge. The stored manifest describes a referrer only when it is present in this
 * repository: a listing naming a digest stored elsewhere keeps its own descriptor, so another
 * repository's manifest never shows through.
 */
export const REFERRERS_SQL = `
SELECT e.digest,
  COALESCE(a.media_type, e.descriptor->>'mediaType') AS media_type,
  COALESCE(a.size, (e.descriptor->>'size')::bigint) AS size,
  CASE WHEN a.digest IS NULL THEN e.descriptor->>'artifactType' ELSE a.artifact_type END AS artifact_type,
  CASE WHEN a.digest IS NULL THEN e.descriptor->'annotations' ELSE a.annotations END AS annotations
FROM (
  SELECT DISTINCT ON (e.referrer_digest) e.repository_id, e.referrer_digest AS digest, e.descriptor
  FROM edge e
  WHERE e.repository_id = (
      SELECT r.id FROM repository r JOIN registry g ON g.id = r.registry_id
      WHERE g.name = $1 AND r.name = $2)
    AND e.subject_digest = $3
    AND e.referrer_digest > $4
    AND e.kind <> 'index-child'
  ORDER BY e.referrer_digest, e.kind, e.source_digest, e.via_tag
) e
LEFT JOIN artifact_location l ON l.repository_id = e.repository_id AND l.digest = e.digest
LEFT JOIN artifact a ON a.digest = e.digest AND l.present
WHERE l.present IS DISTINCT FROM false
  AND ($5::text IS NULL
    OR (CASE WHEN a.digest IS NULL THEN e.descriptor->>'artifactType' ELSE a.artifact_type END) = $5)
ORDER BY e.digest
LIMIT $6`;

export class ReferrersRepository {
  constructor(private readonly db: ReadSource) {}

  async findReferrers(q: ReferrersQuery): Promise<ReferrerDescriptor[]> {
    const { rows } = await this.db.pool.query<{
      digest: string;
      media_type: string;
      size: number;
      artifact_type: string | null;
      annotations: Record<string, string> | null;
    }>({
      name: 'find-referrers',
      text: REFERRERS_SQL,
      values: [q.registry, q.repository, q.subject, q.after ?? '', q.artifactType ?? null, q.limit],
    });
    return rows.map((r) => {
      const d: ReferrerDescriptor = { mediaType: r.media_type, digest: r.digest, size: r.size };
      if (r.artifact_type) d.artifactType = r.artifact_type;
      if (r.annotations && Object.keys(r.annotations).length) d.annotations = r.annotations;
      return d;
    });
  }
}
