-- Vulnerability reports and VEX documents found in referrer layers and attestation predicates, one
-- row per (document artifact, layer, subject), with the findings or statements they carry.

-- CreateTable
CREATE TABLE "vulnerability_document" (
    "id" BIGSERIAL NOT NULL,
    "artifact_digest" TEXT NOT NULL,
    "layer_digest" TEXT NOT NULL DEFAULT '',
    "subject_digest" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "predicate_type" TEXT,
    "signed" BOOLEAN NOT NULL DEFAULT false,
    "producer" TEXT,
    "document_ref" TEXT,
    "issued_at" TIMESTAMPTZ(6),
    "entry_count" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "parse_error" TEXT,

    CONSTRAINT "vulnerability_document_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vulnerability_finding" (
    "id" BIGSERIAL NOT NULL,
    "document_id" BIGINT NOT NULL,
    "vulnerability_id" TEXT NOT NULL,
    "aliases" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "package_name" TEXT,
    "package_version" TEXT,
    "purl" TEXT,
    "purl_base" TEXT,
    "severity" TEXT,
    "fixed_version" TEXT,

    CONSTRAINT "vulnerability_finding_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vex_statement" (
    "id" BIGSERIAL NOT NULL,
    "document_id" BIGINT NOT NULL,
    "vulnerability_id" TEXT NOT NULL,
    "aliases" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "status" TEXT NOT NULL,
    "justification" TEXT,
    "impact_statement" TEXT,
    "action_statement" TEXT,
    "stated_at" TIMESTAMPTZ(6),
    "products" JSONB NOT NULL,
    "product_digests" TEXT[] DEFAULT ARRAY[]::TEXT[],

    CONSTRAINT "vex_statement_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "vulnerability_document_subject_digest_idx" ON "vulnerability_document"("subject_digest");

-- CreateIndex
CREATE UNIQUE INDEX "vulnerability_document_artifact_digest_layer_digest_subject_key" ON "vulnerability_document"("artifact_digest", "layer_digest", "subject_digest");

-- CreateIndex
CREATE INDEX "vulnerability_finding_document_id_idx" ON "vulnerability_finding"("document_id");

-- CreateIndex
CREATE INDEX "vulnerability_finding_vulnerability_id_idx" ON "vulnerability_finding"("vulnerability_id");

-- CreateIndex
CREATE INDEX "vulnerability_finding_aliases_idx" ON "vulnerability_finding" USING GIN ("aliases");

-- CreateIndex
CREATE INDEX "vex_statement_document_id_idx" ON "vex_statement"("document_id");

-- CreateIndex
CREATE INDEX "vex_statement_vulnerability_id_idx" ON "vex_statement"("vulnerability_id");

-- CreateIndex
CREATE INDEX "vex_statement_aliases_idx" ON "vex_statement" USING GIN ("aliases");

-- CreateIndex
CREATE INDEX "vex_statement_product_digests_idx" ON "vex_statement" USING GIN ("product_digests");

-- AddForeignKey
ALTER TABLE "vulnerability_finding" ADD CONSTRAINT "vulnerability_finding_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "vulnerability_document"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vex_statement" ADD CONSTRAINT "vex_statement_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "vulnerability_document"("id") ON DELETE CASCADE ON UPDATE CASCADE;
