CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_kind" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "car_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"car_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"state" text NOT NULL,
	"soc_pct" double precision NOT NULL,
	"plugged_in" boolean NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cars" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"region_id" text NOT NULL,
	"hardware_id" text NOT NULL,
	"name" text NOT NULL,
	"credential_hash" text NOT NULL,
	"state" text DEFAULT 'parked' NOT NULL,
	"soc_pct" double precision NOT NULL,
	"plugged_in" boolean DEFAULT false NOT NULL,
	"charger_kw" double precision DEFAULT 0 NOT NULL,
	"battery_k_wh" double precision NOT NULL,
	"charge_efficiency" double precision DEFAULT 0.9 NOT NULL,
	"predicted_departure_at" timestamp with time zone,
	"departure_uncertainty_s" integer DEFAULT 1200 NOT NULL,
	"battery_temp_c" double precision,
	"policy" jsonb NOT NULL,
	"valid_results" integer DEFAULT 0 NOT NULL,
	"invalid_results" integer DEFAULT 0 NOT NULL,
	"consecutive_valid" integer DEFAULT 0 NOT NULL,
	"quarantined" boolean DEFAULT false NOT NULL,
	"last_heartbeat_at" timestamp with time zone,
	"enrolled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "cars_credentialHash_unique" UNIQUE("credential_hash")
);
--> statement-breakpoint
CREATE TABLE "enrollment_codes" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"owner_id" uuid,
	"region_id" text,
	"created_by" uuid,
	"uses_left" integer DEFAULT 1 NOT NULL,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fleet_samples" (
	"at" timestamp with time zone NOT NULL,
	"region_id" text NOT NULL,
	"online" integer NOT NULL,
	"eligible" integer NOT NULL,
	"available_kw" double precision NOT NULL,
	"available_tops" double precision NOT NULL,
	"active_leases" integer NOT NULL,
	"queue_depth" integer NOT NULL,
	CONSTRAINT "fleet_samples_at_region_id_pk" PRIMARY KEY("at","region_id")
);
--> statement-breakpoint
CREATE TABLE "input_blobs" (
	"sha256" text PRIMARY KEY NOT NULL,
	"media_type" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"size_bytes" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"model_id" text NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"deadline_at" timestamp with time zone,
	"replication" integer,
	"budget_usd" double precision,
	"end_reason" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"task_count" integer NOT NULL,
	"tasks_validated" integer DEFAULT 0 NOT NULL,
	"tasks_failed" integer DEFAULT 0 NOT NULL,
	"idempotency_key" text,
	"submitted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"work_unit_id" bigint NOT NULL,
	"task_id" uuid NOT NULL,
	"car_id" uuid NOT NULL,
	"owner_id" uuid NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"leased_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"renewed_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"end_reason" text
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"lease_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"tenant_id" text NOT NULL,
	"car_id" uuid NOT NULL,
	"owner_id" uuid NOT NULL,
	"region_id" text NOT NULL,
	"energy_k_wh" double precision NOT NULL,
	"grid_energy_k_wh" double precision NOT NULL,
	"battery_energy_k_wh" double precision NOT NULL,
	"cost_usd" double precision NOT NULL,
	"carbon_g" double precision NOT NULL,
	"payout_owed_usd" double precision NOT NULL,
	"payout_usd" double precision DEFAULT 0 NOT NULL,
	"validated" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"validated_at" timestamp with time zone,
	CONSTRAINT "ledger_entries_leaseId_unique" UNIQUE("lease_id")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" text PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"memory_gb" double precision NOT NULL,
	"tera_ops_per_inference" double precision NOT NULL,
	"input_spec" jsonb NOT NULL,
	"output_spec" jsonb NOT NULL,
	"tolerance" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operator_sessions" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"operator_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operators" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operators_email_unique" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "owners" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "regions" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"utc_offset_h" double precision NOT NULL,
	"tariff" jsonb NOT NULL,
	"carbon_g_per_k_wh" jsonb NOT NULL,
	"drained" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "results" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"lease_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"car_id" uuid NOT NULL,
	"output" jsonb NOT NULL,
	"output_sha256" text NOT NULL,
	"duration_ms" integer NOT NULL,
	"backend" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "results_leaseId_unique" UNIQUE("lease_id")
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"job_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"input" jsonb NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"replicas_required" integer,
	"attempt" integer DEFAULT 0 NOT NULL,
	"canary" boolean DEFAULT false NOT NULL,
	"expected_output" jsonb,
	"error" text,
	"interpretation" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"validated_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tenant_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "tenant_keys_keyHash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"quota_share" double precision DEFAULT 0 NOT NULL,
	"weight" double precision DEFAULT 1 NOT NULL,
	"borrowing_limit_share" double precision,
	"lending_limit_share" double precision,
	"paused" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "verifications" (
	"task_id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"canonical_result_id" uuid,
	"support" integer NOT NULL,
	"agreeing" integer NOT NULL,
	"disagreeing" integer NOT NULL,
	"decided_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "work_units" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"tenant_id" text NOT NULL,
	"priority" integer NOT NULL,
	"replica_index" integer NOT NULL,
	"task_order" bigint NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "car_events" ADD CONSTRAINT "car_events_car_id_cars_id_fk" FOREIGN KEY ("car_id") REFERENCES "public"."cars"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cars" ADD CONSTRAINT "cars_owner_id_owners_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."owners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cars" ADD CONSTRAINT "cars_region_id_regions_id_fk" FOREIGN KEY ("region_id") REFERENCES "public"."regions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrollment_codes" ADD CONSTRAINT "enrollment_codes_owner_id_owners_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."owners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrollment_codes" ADD CONSTRAINT "enrollment_codes_region_id_regions_id_fk" FOREIGN KEY ("region_id") REFERENCES "public"."regions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "enrollment_codes" ADD CONSTRAINT "enrollment_codes_created_by_operators_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."operators"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leases" ADD CONSTRAINT "leases_work_unit_id_work_units_id_fk" FOREIGN KEY ("work_unit_id") REFERENCES "public"."work_units"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leases" ADD CONSTRAINT "leases_car_id_cars_id_fk" FOREIGN KEY ("car_id") REFERENCES "public"."cars"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_lease_id_leases_id_fk" FOREIGN KEY ("lease_id") REFERENCES "public"."leases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "operator_sessions" ADD CONSTRAINT "operator_sessions_operator_id_operators_id_fk" FOREIGN KEY ("operator_id") REFERENCES "public"."operators"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "results" ADD CONSTRAINT "results_lease_id_leases_id_fk" FOREIGN KEY ("lease_id") REFERENCES "public"."leases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_keys" ADD CONSTRAINT "tenant_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verifications" ADD CONSTRAINT "verifications_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_units" ADD CONSTRAINT "work_units_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_at_index" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "car_events_car_id_at_index" ON "car_events" USING btree ("car_id","at");--> statement-breakpoint
CREATE INDEX "cars_region_id_index" ON "cars" USING btree ("region_id");--> statement-breakpoint
CREATE INDEX "cars_owner_id_index" ON "cars" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "cars_last_heartbeat_at_index" ON "cars" USING btree ("last_heartbeat_at");--> statement-breakpoint
CREATE INDEX "cars_enrolled_at_id_index" ON "cars" USING btree ("enrolled_at","id");--> statement-breakpoint
CREATE INDEX "cars_name_id_index" ON "cars" USING btree ("name","id");--> statement-breakpoint
CREATE INDEX "jobs_tenant_id_submitted_at_index" ON "jobs" USING btree ("tenant_id","submitted_at");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_tenant_id_idempotency_key_index" ON "jobs" USING btree ("tenant_id","idempotency_key") WHERE "jobs"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "leases_car_id_status_index" ON "leases" USING btree ("car_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "leases_task_owner" ON "leases" USING btree ("task_id","owner_id");--> statement-breakpoint
CREATE INDEX "leases_work_unit_id_index" ON "leases" USING btree ("work_unit_id");--> statement-breakpoint
CREATE INDEX "leases_expiry" ON "leases" USING btree ("expires_at") WHERE "leases"."status" = 'active';--> statement-breakpoint
CREATE INDEX "ledger_entries_tenant_id_index" ON "ledger_entries" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_owner_id_index" ON "ledger_entries" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_region_id_index" ON "ledger_entries" USING btree ("region_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_job_id_index" ON "ledger_entries" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "results_task_id_index" ON "results" USING btree ("task_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_job_id_seq_index" ON "tasks" USING btree ("job_id","seq");--> statement-breakpoint
CREATE INDEX "tasks_status_index" ON "tasks" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tasks_validated" ON "tasks" USING btree ("validated_at") WHERE "tasks"."status" = 'valid';--> statement-breakpoint
CREATE INDEX "tenant_keys_tenant_id_index" ON "tenant_keys" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "work_units_task_id_replica_index_index" ON "work_units" USING btree ("task_id","replica_index");--> statement-breakpoint
CREATE INDEX "work_units_claim" ON "work_units" USING btree ("tenant_id","priority" DESC NULLS LAST,"task_order","id") WHERE "work_units"."status" = 'open';--> statement-breakpoint
CREATE INDEX "work_units_leased" ON "work_units" USING btree ("tenant_id") WHERE "work_units"."status" = 'leased';--> statement-breakpoint
CREATE INDEX "work_units_job_id_index" ON "work_units" USING btree ("job_id");