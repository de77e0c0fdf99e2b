-- Cars are strangers: codes anyone may use (the demo's) make owners nobody vouched for, codes can
-- be revoked, and canary replicas are marked (one car per canary task). The demo code seeded by
-- earlier releases, DEMO-NIGHTSHIFT (its sha256 below), becomes public and bounded.
ALTER TABLE "enrollment_codes" ADD COLUMN "public" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "enrollment_codes" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "owners" ADD COLUMN "vouched" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "work_units" ADD COLUMN "canary" boolean DEFAULT false NOT NULL;--> statement-breakpoint
UPDATE "enrollment_codes" SET "public" = true, "uses_left" = LEAST("uses_left", 10000)
 WHERE "code_hash" = '53e9497c65242281d9b25ba7bb0c45baff6498ddebcca00aa135463d854bb925';
