-- A layer that carries `urls` (foreign and non-distributable layers) is fetched from those URLs,
-- and a registry does not check that the repository holds it when the manifest is pushed, so
-- naming one does not link it to the repository. Links that only such layers made are removed:
-- a blob that a manifest recorded in the same repository names without `urls` (or as its config)
-- keeps its link.
CREATE FUNCTION "refgraph_migration_manifest_json"(b BYTEA) RETURNS JSONB LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN convert_from(b, 'UTF8')::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

WITH named AS (
  SELECT l."repository_id", d.digest, d.by_url
  FROM "artifact_location" l
  JOIN "artifact" a ON a."digest" = l."digest"
  CROSS JOIN LATERAL (SELECT "refgraph_migration_manifest_json"(a."manifest") AS doc) j
  CROSS JOIN LATERAL (
    SELECT j.doc -> 'config' ->> 'digest' AS digest, false AS by_url
    WHERE jsonb_typeof(j.doc -> 'config') = 'object'
    UNION ALL
    SELECT layer ->> 'digest',
           COALESCE(jsonb_typeof(layer -> 'urls') = 'array' AND jsonb_array_length(layer -> 'urls') > 0, false)
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.doc -> 'layers') = 'array' THEN j.doc -> 'layers'
                                   ELSE '[]'::jsonb END) AS layer
    WHERE jsonb_typeof(layer) = 'object'
  ) d
  WHERE jsonb_typeof(j.doc) = 'object' AND d.digest IS NOT NULL
), by_url_only AS (
  SELECT "repository_id", digest FROM named GROUP BY 1, 2 HAVING bool_and(by_url)
)
DELETE FROM "repository_blob" b
USING by_url_only u
WHERE b."repository_id" = u."repository_id" AND b."blob_digest" = u.digest;

DROP FUNCTION "refgraph_migration_manifest_json"(BYTEA);
