-- CreateTable
CREATE TABLE "registry" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "base_url" TEXT NOT NULL,
    "referrers_api" BOOLEAN,
    "last_event_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "repository" (
    "id" BIGSERIAL NOT NULL,
    "registry_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "repository_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "artifact" (
    "digest" TEXT NOT NULL,
    "media_type" TEXT NOT NULL,
    "artifact_type" TEXT,
    "kind" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "subject_digest" TEXT,
    "annotations" JSONB NOT NULL DEFAULT '{}',
    "manifest" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifact_pkey" PRIMARY KEY ("digest")
);

-- CreateTable
CREATE TABLE "artifact_location" (
    "repository_id" BIGINT NOT NULL,
    "digest" TEXT NOT NULL,
    "present" BOOLEAN NOT NULL,
    "event_at" TIMESTAMPTZ(6) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifact_location_pkey" PRIMARY KEY ("repository_id","digest")
);

-- CreateTable
CREATE TABLE "tag" (
    "repository_id" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "digest" TEXT,
    "event_at" TIMESTAMPTZ(6) NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tag_pkey" PRIMARY KEY ("repository_id","name")
);

-- CreateTable
CREATE TABLE "edge" (
    "id" BIGSERIAL NOT NULL,
    "repository_id" BIGINT NOT NULL,
    "subject_digest" TEXT NOT NULL,
    "referrer_digest" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "source_digest" TEXT NOT NULL,
    "via_tag" TEXT NOT NULL DEFAULT '',
    "descriptor" JSONB,

    CONSTRAINT "edge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_event" (
    "id" BIGSERIAL NOT NULL,
    "registry_id" INTEGER NOT NULL,
    "sender_event_id" TEXT,
    "action" TEXT NOT NULL,
    "repository" TEXT NOT NULL,
    "digest" TEXT,
    "tag" TEXT,
    "media_type" TEXT,
    "event_at" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "processed_at" TIMESTAMPTZ(6),

    CONSTRAINT "webhook_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "registry_name_key" ON "registry"("name");

-- CreateIndex
CREATE UNIQUE INDEX "repository_registry_id_name_key" ON "repository"("registry_id", "name");

-- CreateIndex
CREATE INDEX "artifact_subject_digest_idx" ON "artifact"("subject_digest");

-- CreateIndex
CREATE INDEX "artifact_location_digest_idx" ON "artifact_location"("digest");

-- CreateIndex
CREATE INDEX "tag_repository_id_digest_idx" ON "tag"("repository_id", "digest");

-- CreateIndex
CREATE INDEX "edge_subject_digest_idx" ON "edge"("subject_digest");

-- CreateIndex
CREATE INDEX "edge_repository_id_source_digest_idx" ON "edge"("repository_id", "source_digest");

-- CreateIndex
CREATE INDEX "edge_referrer_digest_idx" ON "edge"("referrer_digest");

-- CreateIndex
CREATE UNIQUE INDEX "edge_identity_key" ON "edge"("repository_id", "subject_digest", "referrer_digest", "kind", "source_digest", "via_tag");

-- CreateIndex
CREATE INDEX "webhook_event_status_received_at_idx" ON "webhook_event"("status", "received_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_event_registry_id_sender_event_id_key" ON "webhook_event"("registry_id", "sender_event_id");

-- AddForeignKey
ALTER TABLE "repository" ADD CONSTRAINT "repository_registry_id_fkey" FOREIGN KEY ("registry_id") REFERENCES "registry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "artifact_location" ADD CONSTRAINT "artifact_location_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repository"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tag" ADD CONSTRAINT "tag_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repository"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "edge" ADD CONSTRAINT "edge_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repository"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_event" ADD CONSTRAINT "webhook_event_registry_id_fkey" FOREIGN KEY ("registry_id") REFERENCES "registry"("id") ON DELETE CASCADE ON UPDATE CASCADE;
