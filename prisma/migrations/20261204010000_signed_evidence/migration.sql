-- Attestations and SBOMs that came inside a signature envelope say so, so that a repository whose
-- verification of that envelope has not run (or failed) never reads them as unsigned evidence.
ALTER TABLE "attestation" ADD COLUMN "signed" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "sbom" ADD COLUMN "signed" BOOLEAN NOT NULL DEFAULT false;

-- Backfill: a row is signed when its layer has verification rows, which only envelopes have.
UPDATE "attestation" t SET "signed" = true
WHERE EXISTS (SELECT 1 FROM "signature" s
              WHERE s."artifact_digest" = t."artifact_digest" AND s."layer_digest" = t."layer_digest");
UPDATE "sbom" b SET "signed" = true
WHERE EXISTS (SELECT 1 FROM "signature" s
              WHERE s."artifact_digest" = b."artifact_digest" AND s."layer_digest" = b."layer_digest");
