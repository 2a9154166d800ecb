-- Verification results are kept per repository (the one whose trust rule decided them) and say
-- whether they are a signature over the subject or a signed attestation about it. Rows from before
-- carry neither and are recomputed: their artifacts are queued for verification again (when the job
-- queue exists; a database where no worker ever ran holds no results), then the rows are dropped.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'graphile_worker' AND p.proname = 'add_job') THEN
    PERFORM graphile_worker.add_job('verify_artifact', json_build_object('digest', s.digest),
                                    job_key := 'verify_artifact:' || s.digest, priority := 10)
    FROM (SELECT DISTINCT artifact_digest AS digest FROM "signature") s;
  END IF;
END $$;

DELETE FROM "signature";

-- DropIndex
DROP INDEX "signature_artifact_digest_layer_digest_subject_digest_key";

-- AlterTable
ALTER TABLE "signature" ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'signature',
ADD COLUMN     "repository_id" BIGINT NOT NULL;

-- CreateIndex
CREATE INDEX "signature_subject_digest_repository_id_idx" ON "signature"("subject_digest", "repository_id");

-- CreateIndex
CREATE UNIQUE INDEX "signature_identity_key" ON "signature"("artifact_digest", "layer_digest", "subject_digest", "repository_id");

-- AddForeignKey
ALTER TABLE "signature" ADD CONSTRAINT "signature_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repository"("id") ON DELETE CASCADE ON UPDATE CASCADE;
