ALTER TABLE "leases" ADD COLUMN "request_id" uuid;--> statement-breakpoint
CREATE INDEX "leases_car_request" ON "leases" USING btree ("car_id","request_id") WHERE "leases"."request_id" is not null;