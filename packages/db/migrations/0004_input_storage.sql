-- Input storage: each tenant holds the distinct images its jobs use (tenant_input_blobs), within
-- a quota (tenants.input_storage_quota_bytes, null for the server's default); the sweep lets go
-- of an ended job's images (jobs.inputs_released_at) and deletes images nobody needs
-- (input_blobs.reclaim_at). Backfilled from existing jobs' tasks: every tenant holds what its
-- jobs use, and the sweep releases jobs already ended; an image no task uses is queued for it.
CREATE TABLE "tenant_input_blobs" (
	"tenant_id" text NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_input_blobs_tenant_id_sha256_pk" PRIMARY KEY("tenant_id","sha256")
);
--> statement-breakpoint
ALTER TABLE "input_blobs" ADD COLUMN "reclaim_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "inputs_released_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "input_storage_quota_bytes" bigint;--> statement-breakpoint
ALTER TABLE "tenant_input_blobs" ADD CONSTRAINT "tenant_input_blobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tenant_input_blobs_sha256_index" ON "tenant_input_blobs" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "input_blobs_reclaim" ON "input_blobs" USING btree ("reclaim_at") WHERE "input_blobs"."reclaim_at" is not null;--> statement-breakpoint
CREATE INDEX "jobs_inputs_held" ON "jobs" USING btree ("status","completed_at") WHERE "jobs"."inputs_released_at" is null and "jobs"."status" in ('completed', 'failed', 'cancelled');--> statement-breakpoint
CREATE INDEX "tasks_input_sha256" ON "tasks" USING btree (("input" -> 'image' ->> 'sha256')) WHERE ("tasks"."input" -> 'image' ->> 'sha256') is not null;--> statement-breakpoint
INSERT INTO "tenant_input_blobs" ("tenant_id", "sha256", "size_bytes")
SELECT DISTINCT j."tenant_id", b."sha256", b."size_bytes"
  FROM "tasks" t
  JOIN "jobs" j ON j."id" = t."job_id"
  JOIN "input_blobs" b ON b."sha256" = (t."input" -> 'image' ->> 'sha256');--> statement-breakpoint
UPDATE "input_blobs" b SET "reclaim_at" = now()
 WHERE NOT EXISTS (SELECT 1 FROM "tenant_input_blobs" tb WHERE tb."sha256" = b."sha256");
