-- CreateTable
CREATE TABLE "signature" (
    "id" BIGSERIAL NOT NULL,
    "artifact_digest" TEXT NOT NULL,
    "layer_digest" TEXT NOT NULL DEFAULT '',
    "subject_digest" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "message" TEXT,
    "identity" TEXT,
    "issuer" TEXT,
    "key_id" TEXT,
    "authority" TEXT,
    "tlog_index" BIGINT,
    "integrated_time" TIMESTAMPTZ(6),
    "policy_version" TEXT NOT NULL,
    "verified_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signature_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attestation" (
    "id" BIGSERIAL NOT NULL,
    "artifact_digest" TEXT NOT NULL,
    "layer_digest" TEXT NOT NULL DEFAULT '',
    "subject_digest" TEXT NOT NULL,
    "predicate_type" TEXT NOT NULL,
    "statement" JSONB,
    "builder_id" TEXT,
    "build_type" TEXT,
    "source_repo" TEXT,
    "source_revision" TEXT,
    "vuln_counts" JSONB,
    "parse_error" TEXT,

    CONSTRAINT "attestation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sbom" (
    "id" BIGSERIAL NOT NULL,
    "artifact_digest" TEXT NOT NULL,
    "layer_digest" TEXT NOT NULL DEFAULT '',
    "subject_digest" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "spec_version" TEXT,
    "name" TEXT,
    "package_count" INTEGER NOT NULL DEFAULT 0,
    "parse_error" TEXT,

    CONSTRAINT "sbom_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sbom_package" (
    "id" BIGSERIAL NOT NULL,
    "sbom_id" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT,
    "purl" TEXT,
    "purl_base" TEXT,
    "licenses" TEXT[] DEFAULT ARRAY[]::TEXT[],

    CONSTRAINT "sbom_package_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "signature_subject_digest_idx" ON "signature"("subject_digest");

-- CreateIndex
CREATE UNIQUE INDEX "signature_artifact_digest_layer_digest_subject_digest_key" ON "signature"("artifact_digest", "layer_digest", "subject_digest");

-- CreateIndex
CREATE INDEX "attestation_subject_digest_predicate_type_idx" ON "attestation"("subject_digest", "predicate_type");

-- CreateIndex
CREATE UNIQUE INDEX "attestation_artifact_digest_layer_digest_subject_digest_key" ON "attestation"("artifact_digest", "layer_digest", "subject_digest");

-- CreateIndex
CREATE INDEX "sbom_subject_digest_idx" ON "sbom"("subject_digest");

-- CreateIndex
CREATE UNIQUE INDEX "sbom_artifact_digest_layer_digest_subject_digest_key" ON "sbom"("artifact_digest", "layer_digest", "subject_digest");

-- CreateIndex
CREATE INDEX "sbom_package_sbom_id_idx" ON "sbom_package"("sbom_id");

-- CreateIndex
CREATE INDEX "sbom_package_purl_idx" ON "sbom_package"("purl");

-- CreateIndex
CREATE INDEX "sbom_package_purl_base_idx" ON "sbom_package"("purl_base");

-- AddForeignKey
ALTER TABLE "sbom_package" ADD CONSTRAINT "sbom_package_sbom_id_fkey" FOREIGN KEY ("sbom_id") REFERENCES "sbom"("id") ON DELETE CASCADE ON UPDATE CASCADE;
