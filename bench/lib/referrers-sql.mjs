// The OCI referrers API's query, copied from libs/store/src/referrers.repository.ts (not exported
// there). bench/run.mjs checks that refgraph and the bare server return byte-identical bodies
// before measuring, so a drift between the two copies shows up as a failed check.
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
LEFT JOIN artifact a ON a.digest = e.digest
WHERE NOT EXISTS (
    SELECT 1 FROM artifact_location l
    WHERE l.repository_id = e.repository_id AND l.digest = e.digest AND NOT l.present)
  AND ($5::text IS NULL
    OR (CASE WHEN a.digest IS NULL THEN e.descriptor->>'artifactType' ELSE a.artifact_type END) = $5)
ORDER BY e.digest
LIMIT $6`;
