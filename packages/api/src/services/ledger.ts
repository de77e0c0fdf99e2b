// The ledger summed by owner, tenant or region: energy, cost, carbon, what is owed and what is
// paid (only validated work is paid), and what deferring saved: the runs of jobs that asked for
// the cheapest or cleanest power, against the same runs when their jobs came.
import { ledgerEntries as le } from "@nightshift/db/schema";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { ApiDeps } from "../context";
import { ZIsoDate } from "../schemas";
import { rows } from "./db";

export const ZLedgerSummaryInput = z
  .object({
    by: z.enum(["owner", "tenant", "region"]),
    from: ZIsoDate.optional(),
    to: ZIsoDate.optional(),
  })
  .strict();

const ZLedgerFigures = z.object({
  entries: z.number().int(),
  validated: z.number().int(),
  energyKWh: z.number(),
  gridEnergyKWh: z.number(),
  batteryEnergyKWh: z.number(),
  costUsd: z.number(),
  carbonG: z.number(),
  payoutOwedUsd: z.number(),
  payoutUsd: z.number(),
  /** Entries of jobs that asked for the cheapest or cleanest power (core's deferral). */
  deferredEntries: z.number().int(),
  /** Their cost and carbon had they run when their jobs came, less what they cost and emitted. */
  deferralSavedUsd: z.number(),
  deferralSavedCarbonG: z.number(),
});
export const ZLedgerSummaryOutput = z.object({
  rows: z.array(ZLedgerFigures.extend({ key: z.string() })),
  total: ZLedgerFigures,
});

const COLUMN = {
  owner: sql`${le.ownerId}::text`,
  tenant: sql`${le.tenantId}`,
  region: sql`${le.regionId}`,
} as const;

export async function ledgerSummary(
  deps: ApiDeps,
  input: z.infer<typeof ZLedgerSummaryInput>,
): Promise<z.infer<typeof ZLedgerSummaryOutput>> {
  const from = input.from ? new Date(input.from) : new Date(0);
  const to = input.to ? new Date(input.to) : new Date(8.64e15);
  const grouped = await rows<z.infer<typeof ZLedgerFigures> & { key: string }>(
    deps.db,
    sql`SELECT ${COLUMN[input.by]} AS key,
               count(*)::int AS entries,
               count(*) FILTER (WHERE validated)::int AS validated,
               sum(${le.energyKWh})::float8 AS "energyKWh",
               sum(${le.gridEnergyKWh})::float8 AS "gridEnergyKWh",
               sum(${le.batteryEnergyKWh})::float8 AS "batteryEnergyKWh",
               sum(${le.costUsd})::float8 AS "costUsd",
               sum(${le.carbonG})::float8 AS "carbonG",
               sum(${le.payoutOwedUsd})::float8 AS "payoutOwedUsd",
               sum(${le.payoutUsd})::float8 AS "payoutUsd",
               count(${le.soonestCostUsd})::int AS "deferredEntries",
               coalesce(sum(${le.soonestCostUsd} - ${le.costUsd}), 0)::float8 AS "deferralSavedUsd",
               coalesce(sum(${le.soonestCarbonG} - ${le.carbonG}), 0)::float8 AS "deferralSavedCarbonG"
          FROM ${le}
         WHERE ${le.createdAt} >= ${from} AND ${le.createdAt} < ${to}
         GROUP BY 1 ORDER BY 1`,
  );
  const total = {
    entries: 0,
    validated: 0,
    energyKWh: 0,
    gridEnergyKWh: 0,
    batteryEnergyKWh: 0,
    costUsd: 0,
    carbonG: 0,
    payoutOwedUsd: 0,
    payoutUsd: 0,
    deferredEntries: 0,
    deferralSavedUsd: 0,
    deferralSavedCarbonG: 0,
  };
  for (const r of grouped)
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r[k];
  return { rows: grouped, total };
}
