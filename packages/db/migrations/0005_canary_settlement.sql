-- A canary's result that agreed is paid when its lease would have run out (the sweep settles
-- it), so that a car reading its earnings cannot tell a canary from new replicated work.
ALTER TABLE "ledger_entries" ADD COLUMN "settles_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "ledger_entries_settle" ON "ledger_entries" USING btree ("settles_at") WHERE "ledger_entries"."settles_at" IS NOT NULL;