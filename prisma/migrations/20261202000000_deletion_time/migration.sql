-- The time of the latest delete of each location, whatever came after it. A tag names a manifest
-- only if no delete of that manifest is newer than the tag's own event: with the deletion time
-- kept, that holds whichever order the push, the re-tag and the delete arrive in (a delete that
-- arrives after a newer re-push used to leave the tags it had removed in place, and a tag push that
-- arrived after a newer push of the same manifest was dropped).
ALTER TABLE "artifact_location" ADD COLUMN "deleted_at" TIMESTAMPTZ(6);

UPDATE "artifact_location" SET "deleted_at" = "event_at" WHERE NOT "present";
