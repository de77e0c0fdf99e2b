// What the ledger paid above the server's own estimate of the work, on the hardware the car
// enrolled with: the most a car may be paid whatever it says about itself (core's pay.ts).
//
// The estimate is rebuilt here from what the server knows, at its most generous: the run lasts
// the server's estimate for the task on the car's hardware class (estimatedRunS) and draws that
// class's inference power; all of it is bought at the wall through a charger at pay's efficiency
// floor, at the dearest hour of the region's tariff, and cycles the battery (wear); the compute
// is paid on top. Whatever the hour, the car's plug and departure, the server's estimate of a run
// is no more than this, so every dollar above it came from a figure the car made up.
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import { taskTeraOps } from "@nightshift/api/services/submit";
import { energyKWh } from "@nightshift/core/battery";
import { estimatedRunS, hardwareById } from "@nightshift/core/hardware";
import { PAY_CHARGE_EFFICIENCY_FLOOR } from "@nightshift/core/pay";
import { worldSpanS } from "@nightshift/core/time-scale";
import type { TariffRate } from "@nightshift/core/types";
import type { Cluster } from "./cluster";

type Pool = Cluster["pool"];

/** Rounding between the server's sums and this one's: far below any real overpayment. */
const RELATIVE_SLACK = 1e-9;

export interface Overpayment {
  /** Ledger entries paid (validated, payout above 0). */
  paidEntries: number;
  paidUsd: number;
  /** Entries paid above the estimate, and the sum paid above it. */
  overpaidEntries: number;
  overpaidUsd: number;
  /** The sum paid above the estimate, by car. */
  byCar: Map<string, number>;
}

/** The most the server's estimate of one run can be, USD (see the top of this file). */
export function mostPayableUsd(run: {
  hardwareId: string;
  teraOps: number;
  tariff: readonly TariffRate[];
}): number {
  const { schedule, timeScale } = DEFAULT_API_CONFIG;
  const hardware = hardwareById(run.hardwareId);
  const durationS = worldSpanS(
    timeScale,
    estimatedRunS(hardware, run.teraOps, schedule.sustainedTopsShare),
  );
  const computeKWh = energyKWh(hardware.inferencePowerW, durationS);
  const dearestUsdPerKWh = Math.max(...run.tariff.map((r) => r.priceUsdPerKWh));
  return (
    (computeKWh / PAY_CHARGE_EFFICIENCY_FLOOR) * dearestUsdPerKWh +
    computeKWh * schedule.cost.batteryWearUsdPerKWh +
    schedule.cost.computeUsdPerPetaOp * (run.teraOps / 1000)
  );
}

/** Every paid ledger entry of the jobs against mostPayableUsd. */
export async function overpayment(pool: Pool, jobIds: readonly string[]): Promise<Overpayment> {
  const { rows } = await pool.query<{
    car_id: string;
    payout_usd: number;
    hardware_id: string;
    tariff: TariffRate[];
    model_id: string;
    tera_ops_per_inference: number;
    image: { width: number; height: number } | null;
  }>(
    `SELECT le.car_id, le.payout_usd, c.hardware_id, r.tariff, m.id AS model_id,
            m.tera_ops_per_inference, t.input->'image' AS image
       FROM ledger_entries le
       JOIN cars c ON c.id = le.car_id
       JOIN regions r ON r.id = le.region_id
       JOIN tasks t ON t.id = le.task_id
       JOIN jobs j ON j.id = le.job_id
       JOIN models m ON m.id = j.model_id
      WHERE le.job_id = ANY($1) AND le.validated AND le.payout_usd > 0`,
    [jobIds],
  );
  const out: Overpayment = {
    paidEntries: rows.length,
    paidUsd: 0,
    overpaidEntries: 0,
    overpaidUsd: 0,
    byCar: new Map(),
  };
  for (const row of rows) {
    out.paidUsd += row.payout_usd;
    const most = mostPayableUsd({
      hardwareId: row.hardware_id,
      teraOps: taskTeraOps(
        { id: row.model_id, teraOpsPerInference: row.tera_ops_per_inference },
        row.image,
      ),
      tariff: row.tariff,
    });
    const above = row.payout_usd - most * (1 + RELATIVE_SLACK);
    // Not `above > 0` alone: a payout that is not a finite number is above any estimate.
    if (!(above <= 0)) {
      out.overpaidEntries += 1;
      const usd = row.payout_usd - most;
      out.overpaidUsd += usd;
      out.byCar.set(row.car_id, (out.byCar.get(row.car_id) ?? 0) + usd);
    }
  }
  return out;
}
