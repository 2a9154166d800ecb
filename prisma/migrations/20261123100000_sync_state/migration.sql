-- CreateTable
CREATE TABLE "sync_state" (
    "registry_id" INTEGER NOT NULL,
    "run_id" TEXT NOT NULL,
    "job_id" TEXT,
    "status" TEXT NOT NULL,
    "reconcile" BOOLEAN NOT NULL DEFAULT false,
    "scope" JSONB,
    "resume_after" TEXT,
    "resumed" BOOLEAN NOT NULL DEFAULT false,
    "summary" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),

    CONSTRAINT "sync_state_pkey" PRIMARY KEY ("registry_id")
);

-- AddForeignKey
ALTER TABLE "sync_state" ADD CONSTRAINT "sync_state_registry_id_fkey" FOREIGN KEY ("registry_id") REFERENCES "registry"("id") ON DELETE CASCADE ON UPDATE CASCADE;
