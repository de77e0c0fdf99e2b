-- A job's objective (soonest, cheapest, cleanest: core's deferral filter) and, on each ledger entry
-- of a deferring job, what its energy would have cost and emitted had it run when the job came:
-- what deferring saved. Leases may now end 'preempted' (core's reclaim; status is text).
ALTER TABLE "jobs" ADD COLUMN "objective" text DEFAULT 'soonest' NOT NULL;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD COLUMN "soonest_cost_usd" double precision;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD COLUMN "soonest_carbon_g" double precision;