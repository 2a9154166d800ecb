-- Per-event admission: an event refused at admission is stored with status 'rejected' and its
-- reason in last_error, without a job. Deliveries of signed senders are deduplicated on the hash
-- of the signed body as well as on the delivery id (which is not signed and can be replayed fresh).
ALTER TABLE "webhook_event" ADD COLUMN "body_sha256" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "webhook_event_registry_id_body_sha256_key" ON "webhook_event"("registry_id", "body_sha256");

-- Event times used to be the sender's, unbounded, and a row dated in the future won every later
-- comparison (one delete dated 9999-12-31 hid an image for good). They are now clamped at
-- admission; rows written before are clamped here the same way, so sync and reconcile, which
-- write the time they looked, win again.
UPDATE "webhook_event" SET "event_at" = "received_at" WHERE "event_at" > "received_at" + interval '1 minute';
UPDATE "artifact_location" SET "event_at" = now() WHERE "event_at" > now() + interval '1 minute';
UPDATE "tag" SET "event_at" = now() WHERE "event_at" > now() + interval '1 minute';
