-- The blobs each repository holds, as the manifests refgraph recorded there name them: the
-- registry view serves a blob only where this table links it to the asked repository, whatever
-- the registry itself would serve under that path.
CREATE TABLE "repository_blob" (
    "repository_id" BIGINT NOT NULL,
    "blob_digest" TEXT NOT NULL,

    CONSTRAINT "repository_blob_pkey" PRIMARY KEY ("repository_id","blob_digest")
);

ALTER TABLE "repository_blob" ADD CONSTRAINT "repository_blob_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repository"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill from the manifests already recorded in each repository. Stored bytes were parsed as
-- JSON when they were ingested; a row that does not read as JSON now links nothing rather than
-- failing the migration.
CREATE FUNCTION "refgraph_migration_manifest_json"(b BYTEA) RETURNS JSONB LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN convert_from(b, 'UTF8')::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

INSERT INTO "repository_blob" ("repository_id", "blob_digest")
SELECT DISTINCT l."repository_id", d.digest
FROM "artifact_location" l
JOIN "artifact" a ON a."digest" = l."digest"
CROSS JOIN LATERAL (SELECT "refgraph_migration_manifest_json"(a."manifest") AS doc) j
CROSS JOIN LATERAL (
  SELECT j.doc -> 'config' ->> 'digest' AS digest
  WHERE jsonb_typeof(j.doc -> 'config') = 'object'
  UNION ALL
  SELECT layer ->> 'digest'
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(j.doc -> 'layers') = 'array' THEN j.doc -> 'layers'
                                 ELSE '[]'::jsonb END) AS layer
  WHERE jsonb_typeof(layer) = 'object'
) d
WHERE jsonb_typeof(j.doc) = 'object' AND d.digest ~ '^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$'
ON CONFLICT DO NOTHING;

DROP FUNCTION "refgraph_migration_manifest_json"(BYTEA);
