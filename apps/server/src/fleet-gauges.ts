// The figures /metrics reads from the database at each scrape.
import type { Db } from "@nightshift/db/client";
import { cars, leases, workUnits } from "@nightshift/db/schema";
import { count, eq, isNull } from "drizzle-orm";
import type { FleetGauges } from "./metrics";

export async function readFleetGauges(db: Db): Promise<FleetGauges> {
  const [units, active, byState] = await Promise.all([
    db.select({ n: count() }).from(workUnits).where(eq(workUnits.status, "open")),
    db.select({ n: count() }).from(leases).where(eq(leases.status, "active")),
    db
      .select({ state: cars.state, n: count() })
      .from(cars)
      .where(isNull(cars.revokedAt))
      .groupBy(cars.state),
  ]);
  const carsByState = { driving: 0, parked: 0, charging: 0 };
  for (const row of byState) carsByState[row.state] = row.n;
  return { openWorkUnits: units[0]?.n ?? 0, activeLeases: active[0]?.n ?? 0, carsByState };
}
