-- A sender event id deduplicates only together with what the event asks. Before, the first event
-- stored under an id made every later event under it a duplicate, whatever it named: a forged or
-- buggy event taking an id first had the real one acknowledged and never ingested. Now an event
-- under an id already stored with other content is stored as its own; a redelivery of the same
-- request (same action, repository, digest, tag and media type) is still a duplicate.
ALTER TABLE "webhook_event" ADD COLUMN "content_sha256" TEXT;

-- The hash contentSha256 (libs/store/src/inbox-rows.ts) computes: each field as
-- '<UTF-8 byte length>:<text>,' or '~' when NULL, in this order, SHA-256 in hex. The CHECK below
-- recomputes it for every row written, so the code and this expression cannot disagree unnoticed.
UPDATE "webhook_event" SET "content_sha256" = encode(sha256(convert_to(
    coalesce(octet_length(convert_to("action", 'UTF8')) || ':' || "action" || ',', '~') ||
    coalesce(octet_length(convert_to("repository", 'UTF8')) || ':' || "repository" || ',', '~') ||
    coalesce(octet_length(convert_to("digest", 'UTF8')) || ':' || "digest" || ',', '~') ||
    coalesce(octet_length(convert_to("tag", 'UTF8')) || ':' || "tag" || ',', '~') ||
    coalesce(octet_length(convert_to("media_type", 'UTF8')) || ':' || "media_type" || ',', '~'),
  'UTF8')), 'hex');

-- NOT NULL: NULLs are distinct in a unique index, so a row without the hash would never conflict.
ALTER TABLE "webhook_event" ALTER COLUMN "content_sha256" SET NOT NULL;
ALTER TABLE "webhook_event" ADD CONSTRAINT "webhook_event_content_sha256_check" CHECK ("content_sha256" = encode(sha256(convert_to(
    coalesce(octet_length(convert_to("action", 'UTF8')) || ':' || "action" || ',', '~') ||
    coalesce(octet_length(convert_to("repository", 'UTF8')) || ':' || "repository" || ',', '~') ||
    coalesce(octet_length(convert_to("digest", 'UTF8')) || ':' || "digest" || ',', '~') ||
    coalesce(octet_length(convert_to("tag", 'UTF8')) || ':' || "tag" || ',', '~') ||
    coalesce(octet_length(convert_to("media_type", 'UTF8')) || ':' || "media_type" || ',', '~'),
  'UTF8')), 'hex'));

-- DropIndex
DROP INDEX "webhook_event_registry_id_sender_event_id_key";

-- CreateIndex
CREATE UNIQUE INDEX "webhook_event_registry_id_sender_event_id_content_sha256_key" ON "webhook_event"("registry_id", "sender_event_id", "content_sha256");
