-- Regions take an IANA time zone instead of a fixed UTC offset (a fixed offset put tariffs, carbon
-- and owners' hours an hour off whenever daylight saving time was in force). Each existing row
-- keeps what its offset said:
--   * the demo's seeded regions, still at their seeded offsets, get the zones the seed gives them
--     now (us-west America/Los_Angeles, us-central America/Chicago, eu-north Europe/Stockholm);
--   * any other whole-hour offset becomes the fixed zone of that offset, UTC or Etc/GMT∓N (IANA
--     inverts the sign: Etc/GMT+8 is UTC−8), so the region keeps exactly the local time it had;
--   * an offset a fraction of an hour off UTC becomes the zone whose standard time it is;
--   * anything else (no zone has it) the fixed zone of the nearest whole hour within −12…+14.
-- Every row converted is written to the audit log with the offset it replaced. The old column
-- stays (nullable, no longer read or written) so that servers of the previous release keep
-- working through a rolling upgrade; a later release drops it (expand, then contract).
ALTER TABLE "regions" ADD COLUMN "time_zone" text;--> statement-breakpoint
UPDATE "regions" SET "time_zone" = CASE
  WHEN "id" = 'us-west' AND "utc_offset_h" = -8 THEN 'America/Los_Angeles'
  WHEN "id" = 'us-central' AND "utc_offset_h" = -6 THEN 'America/Chicago'
  WHEN "id" = 'eu-north' AND "utc_offset_h" = 1 THEN 'Europe/Stockholm'
  WHEN "utc_offset_h" = 0 THEN 'UTC'
  WHEN "utc_offset_h" = trunc("utc_offset_h") AND "utc_offset_h" BETWEEN -12 AND 14
    THEN 'Etc/GMT' || CASE WHEN "utc_offset_h" < 0 THEN '+' ELSE '-' END || abs("utc_offset_h")::int
  WHEN "utc_offset_h" = -9.5 THEN 'Pacific/Marquesas'
  WHEN "utc_offset_h" = -3.5 THEN 'America/St_Johns'
  WHEN "utc_offset_h" = 3.5 THEN 'Asia/Tehran'
  WHEN "utc_offset_h" = 4.5 THEN 'Asia/Kabul'
  WHEN "utc_offset_h" = 5.5 THEN 'Asia/Kolkata'
  WHEN "utc_offset_h" = 5.75 THEN 'Asia/Kathmandu'
  WHEN "utc_offset_h" = 6.5 THEN 'Asia/Yangon'
  WHEN "utc_offset_h" = 8.75 THEN 'Australia/Eucla'
  WHEN "utc_offset_h" = 9.5 THEN 'Australia/Darwin'
  WHEN "utc_offset_h" = 10.5 THEN 'Australia/Lord_Howe'
  WHEN "utc_offset_h" = 12.75 THEN 'Pacific/Chatham'
  ELSE (SELECT CASE WHEN h = 0 THEN 'UTC'
                    ELSE 'Etc/GMT' || CASE WHEN h < 0 THEN '+' ELSE '-' END || abs(h) END
          FROM (SELECT greatest(-12, least(14, round("utc_offset_h")))::int AS h) nearest)
END;--> statement-breakpoint
INSERT INTO "audit_events" ("actor_kind", "action", "subject_kind", "subject_id", "detail")
SELECT 'system', 'regions.time-zone', 'region', "id",
       jsonb_build_object('utcOffsetH', "utc_offset_h", 'timeZone', "time_zone",
                          'reason', 'migration 0002: regions take an IANA time zone')
  FROM "regions";--> statement-breakpoint
ALTER TABLE "regions" ALTER COLUMN "time_zone" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "regions" ALTER COLUMN "utc_offset_h" DROP NOT NULL;
