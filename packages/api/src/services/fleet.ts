// The operator's view of the fleet: a summary, cars (filter, sort, page), a car's detail, and
// quarantine.
import { HARDWARE } from "@nightshift/core/hardware";
import { releaseQuarantine } from "@nightshift/core/verify";
import { cars, leases, ledgerEntries } from "@nightshift/db/schema";
import { and, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { Cached } from "../cache";
import type { ApiDeps } from "../context";
import { notFound } from "../errors";
import {
  decodeCursor,
  encodeCursor,
  ZCursor,
  ZLimit,
  ZMultilineText,
  ZSlug,
  ZPgTimestamptz,
  ZText,
  ZUuid,
} from "../schemas";
import { type ApiState, monotonicMs } from "../state";
import { audit } from "./audit";
import { type CarRow, reputationOf } from "./convert";
import { inTx, rows } from "./db";
import {
  carRefusal,
  heartbeatFresh,
  onlineCars,
  type Refusal,
  REFUSALS,
  scheduleContext,
} from "./eligibility";
import { endLeases } from "./leases";

/** What the fleet offers in one region (or "*", all of them), at one moment. */
export const ZRegionFigures = z.object({
  regionId: z.string(),
  online: z.number().int(),
  eligible: z.number().int(),
  availableKW: z.number(),
  availableTops: z.number(),
  activeLeases: z.number().int(),
});

export const ZFleetSummary = z.object({
  at: z.string(),
  cars: z.object({
    total: z.number().int(),
    online: z.number().int(),
    /** Online cars by their last reported state. */
    byState: z.object({
      driving: z.number().int(),
      parked: z.number().int(),
      charging: z.number().int(),
    }),
    quarantined: z.number().int(),
  }),
  /** Online cars that core's filters let take work now. */
  eligible: z.number().int(),
  /** Inference power and peak compute of the eligible cars. */
  availableKW: z.number(),
  availableTops: z.number(),
  /** Work units waiting for a car. */
  queueDepth: z.number().int(),
  activeLeases: z.number().int(),
  /** Cars holding at least one lease: activeLeases counts a car once per task it runs. */
  busyCars: z.number().int(),
  /**
   * Eligible cars holding a lease: the eligible fleet at work. The rest of busyCars finish work
   * they took before they stopped being eligible (a departure came near, the owner's hours ended).
   */
  busyEligible: z.number().int(),
  jobs: z.object({ queued: z.number().int(), running: z.number().int() }),
  /** The same figures region by region (every region, even an empty one). */
  byRegion: z.array(ZRegionFigures.extend({ busyCars: z.number().int() })),
  /**
   * Why the other cars may take no work: every enrolled car that is not eligible counted once,
   * under the first reason the lease call would give it ("no-heartbeat" for the offline ones),
   * most cars first; reasons that no car has are left out. With `eligible` they add up to
   * `cars.total`.
   */
  refusals: z.array(z.object({ reason: z.enum(REFUSALS), cars: z.number().int().positive() })),
});
export type FleetSummary = z.infer<typeof ZFleetSummary>;

/**
 * Counts of refusals, most first (ties in REFUSALS' order, the order they are asked in), the
 * offline cars among them; reasons no car has are left out.
 */
function refusalCounts(
  refused: ReadonlyMap<Refusal, number>,
  offline: number,
): FleetSummary["refusals"] {
  const counts = new Map(refused);
  if (offline > 0) counts.set("no-heartbeat", (counts.get("no-heartbeat") ?? 0) + offline);
  return REFUSALS.filter((reason) => (counts.get(reason) ?? 0) > 0)
    .map((reason) => ({ reason, cars: counts.get(reason)! }))
    .sort((a, b) => b.cars - a.cars);
}

export async function fleetSummary(deps: ApiDeps, state: ApiState): Promise<FleetSummary> {
  const now = deps.now();
  const regionRows = await state.regions.get(monotonicMs());
  // The cars online, each with all it needs to decide: the counts by state and region come from
  // the same rows that the eligibility is decided on, so that they all add up.
  const [[enrolled], online, [counts], regionLeases, busyRows] = await Promise.all([
    rows<{ total: number; quarantined: number }>(
      deps.db,
      sql`SELECT count(*)::int AS total, count(*) FILTER (WHERE quarantined)::int AS quarantined
            FROM cars WHERE revoked_at IS NULL`,
    ),
    onlineCars(deps.db, now, deps.config),
    rows<{ queue: number; leases: number; queued: number; running: number }>(
      deps.db,
      sql`SELECT (SELECT count(*) FROM work_units WHERE status = 'open')::int AS queue,
                 (SELECT count(*) FROM leases WHERE status = 'active')::int AS leases,
                 (SELECT count(*) FROM jobs WHERE status = 'queued')::int AS queued,
                 (SELECT count(*) FROM jobs WHERE status = 'running')::int AS running`,
    ),
    rows<{ region_id: string; leases: number; busy: number }>(
      deps.db,
      sql`SELECT c.region_id, count(*)::int AS leases, count(DISTINCT l.car_id)::int AS busy
            FROM leases l JOIN cars c ON c.id = l.car_id
           WHERE l.status = 'active' GROUP BY c.region_id`,
    ),
    rows<{ car_id: string }>(
      deps.db,
      sql`SELECT DISTINCT car_id FROM leases WHERE status = 'active'`,
    ),
  ]);
  const busyIds = new Set(busyRows.map((r) => r.car_id));
  const ctx = scheduleContext(now, regionRows, deps.config);
  const eligible: CarRow[] = [];
  const refused = new Map<Refusal, number>();
  const states = { driving: 0, parked: 0, charging: 0 };
  const onlineByRegion = new Map<string, number>();
  for (const car of online) {
    states[car.state]++;
    onlineByRegion.set(car.regionId, (onlineByRegion.get(car.regionId) ?? 0) + 1);
    const refusal = carRefusal(car, ctx, deps.config);
    if (refusal === null) eligible.push(car);
    else refused.set(refusal, (refused.get(refusal) ?? 0) + 1);
  }
  const total = enrolled?.total ?? 0;
  // Read a moment apart, a car may have enrolled and reported in between: never below zero.
  const offline = Math.max(0, total - online.length);
  const kwOf = (cs: readonly CarRow[]) =>
    cs.reduce((kw, c) => kw + (HARDWARE[c.hardwareId]?.inferencePowerW ?? 0) / 1000, 0);
  const topsOf = (cs: readonly CarRow[]) =>
    cs.reduce((tops, c) => tops + (HARDWARE[c.hardwareId]?.peakTops ?? 0), 0);
  const byRegion = [...regionRows.keys()].sort().map((regionId) => {
    const here = eligible.filter((c) => c.regionId === regionId);
    const leasesHere = regionLeases.find((r) => r.region_id === regionId);
    return {
      regionId,
      online: onlineByRegion.get(regionId) ?? 0,
      eligible: here.length,
      availableKW: kwOf(here),
      availableTops: topsOf(here),
      activeLeases: leasesHere?.leases ?? 0,
      busyCars: leasesHere?.busy ?? 0,
    };
  });
  return {
    at: now.toISOString(),
    cars: {
      total,
      online: online.length,
      byState: states,
      quarantined: enrolled?.quarantined ?? 0,
    },
    eligible: eligible.length,
    availableKW: kwOf(eligible),
    availableTops: topsOf(eligible),
    queueDepth: counts?.queue ?? 0,
    activeLeases: counts?.leases ?? 0,
    busyCars: regionLeases.reduce((n, r) => n + r.busy, 0),
    busyEligible: eligible.filter((c) => busyIds.has(c.id)).length,
    jobs: { queued: counts?.queued ?? 0, running: counts?.running ?? 0 },
    byRegion,
    refusals: refusalCounts(refused, offline),
  };
}

/** How long watchers of one instance share one summary. */
const WATCH_SHARE_MS = 1000;
const watched = new WeakMap<ApiState, Cached<FleetSummary>>();

/**
 * The fleet summary for `fleet.watch`: computed at most once a second per instance and shared
 * by every subscriber, so that ten open consoles cost what one does.
 */
export function watchedSummary(deps: ApiDeps, state: ApiState): Promise<FleetSummary> {
  let shared = watched.get(state);
  if (!shared) {
    shared = new Cached(
      () => WATCH_SHARE_MS,
      () => fleetSummary(deps, state),
    );
    watched.set(state, shared);
  }
  return shared.get(monotonicMs());
}

// ---- cars ----

export const ZCar = z.object({
  id: ZUuid,
  name: z.string(),
  ownerId: ZUuid,
  regionId: z.string(),
  hardwareId: z.string(),
  state: z.enum(["driving", "parked", "charging"]),
  socPct: z.number(),
  pluggedIn: z.boolean(),
  chargerKW: z.number(),
  batteryKWh: z.number(),
  online: z.boolean(),
  quarantined: z.boolean(),
  validResults: z.number().int(),
  invalidResults: z.number().int(),
  consecutiveValid: z.number().int(),
  lastHeartbeatAt: z.string().nullable(),
  predictedDepartureAt: z.string().nullable(),
  enrolledAt: z.string(),
  activeLeases: z.number().int(),
});
export type Car = z.infer<typeof ZCar>;

function toCar(c: CarRow, activeLeases: number, now: Date, timeoutS: number): Car {
  return {
    id: c.id,
    name: c.name,
    ownerId: c.ownerId,
    regionId: c.regionId,
    hardwareId: c.hardwareId,
    state: c.state,
    socPct: c.socPct,
    pluggedIn: c.pluggedIn,
    chargerKW: c.chargerKW,
    batteryKWh: c.batteryKWh,
    online: heartbeatFresh(c.lastHeartbeatAt, now, timeoutS),
    quarantined: c.quarantined,
    validResults: c.validResults,
    invalidResults: c.invalidResults,
    consecutiveValid: c.consecutiveValid,
    lastHeartbeatAt: c.lastHeartbeatAt?.toISOString() ?? null,
    predictedDepartureAt: c.predictedDepartureAt?.toISOString() ?? null,
    enrolledAt: c.enrolledAt.toISOString(),
    activeLeases,
  };
}

/** A listed car's active leases, counted beside its row (the list and its refreshed rows). */
const ACTIVE_LEASES = sql<number>`(SELECT count(*)::int FROM leases l WHERE l.car_id = cars.id AND l.status = 'active')`;

/** What a list may sort cars by: the column, its type, and what a cursor's sort value must be. */
const SORTS = {
  enrolledAt: { expr: sql`cars.enrolled_at`, type: sql`timestamptz`, value: ZPgTimestamptz },
  lastHeartbeatAt: {
    expr: sql`coalesce(cars.last_heartbeat_at, 'epoch'::timestamptz)`,
    type: sql`timestamptz`,
    value: ZPgTimestamptz,
  },
  socPct: {
    expr: sql`cars.soc_pct`,
    type: sql`double precision`,
    // Read back as a number: a finite double in JavaScript is one in PostgreSQL, which refuses
    // some texts JavaScript rounds ("1e-400").
    value: z
      .string()
      .regex(/^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i)
      .transform(Number)
      .pipe(z.number()),
  },
  name: { expr: sql`cars.name`, type: sql`text`, value: ZText },
} as const;

export const ZListCarsInput = z
  .object({
    regionId: ZSlug.optional(),
    state: z.enum(["driving", "parked", "charging"]).optional(),
    quarantined: z.boolean().optional(),
    sort: z.enum(["enrolledAt", "lastHeartbeatAt", "socPct", "name"]).default("enrolledAt"),
    order: z.enum(["asc", "desc"]).default("asc"),
    cursor: ZCursor.optional(),
    limit: ZLimit,
  })
  .strict();
export const ZListCarsOutput = z.object({
  items: z.array(ZCar),
  nextCursor: z.string().nullable(),
});

export async function listCars(
  deps: ApiDeps,
  input: z.infer<typeof ZListCarsInput>,
): Promise<z.infer<typeof ZListCarsOutput>> {
  const now = deps.now();
  const sort = SORTS[input.sort];
  const conditions: SQL[] = [isNull(cars.revokedAt) as SQL];
  if (input.regionId) conditions.push(eq(cars.regionId, input.regionId) as SQL);
  if (input.state) conditions.push(eq(cars.state, input.state) as SQL);
  if (input.quarantined !== undefined)
    conditions.push(eq(cars.quarantined, input.quarantined) as SQL);
  if (input.cursor) {
    const [value, id] = decodeCursor<string | number, string>(input.cursor, sort.value, ZUuid);
    const op = input.order === "asc" ? sql`>` : sql`<`;
    conditions.push(sql`(${sort.expr}, cars.id) ${op} (${value}::${sort.type}, ${id}::uuid)`);
  }
  const dir = input.order === "asc" ? sql`ASC` : sql`DESC`;
  const page = await deps.db
    .select({
      car: cars,
      sortKey: sql<string>`${sort.expr}::text`,
      active: ACTIVE_LEASES,
    })
    .from(cars)
    .where(and(...conditions))
    .orderBy(sql`${sort.expr} ${dir}`, sql`cars.id ${dir}`)
    .limit(input.limit + 1);
  const items = page.slice(0, input.limit);
  const last = items[items.length - 1];
  return {
    items: items.map((r) => toCar(r.car, r.active, now, deps.config.heartbeatTimeoutS)),
    nextCursor: page.length > input.limit && last ? encodeCursor(last.sortKey, last.car.id) : null,
  };
}

/** At most this many cars in one `cars.rows` call: a screen of table rows, with room to spare. */
export const MAX_CAR_ROWS = 200;
export const ZCarRowsInput = z.object({ carIds: z.array(ZUuid).min(1).max(MAX_CAR_ROWS) }).strict();
export const ZCarRowsOutput = z.object({ items: z.array(ZCar) });

/**
 * The cars named, as they are now, in the list's row shape: a table refreshes the rows it shows
 * with it. A car that is unknown or revoked is left out; the order is the order asked.
 */
export async function carRows(
  deps: ApiDeps,
  input: z.infer<typeof ZCarRowsInput>,
): Promise<z.infer<typeof ZCarRowsOutput>> {
  const now = deps.now();
  const found = await deps.db
    .select({
      car: cars,
      active: ACTIVE_LEASES,
    })
    .from(cars)
    .where(and(inArray(cars.id, input.carIds), isNull(cars.revokedAt)));
  const byId = new Map(found.map((r) => [r.car.id, r]));
  const items: Car[] = [];
  for (const id of new Set(input.carIds)) {
    const r = byId.get(id);
    if (r) items.push(toCar(r.car, r.active, now, deps.config.heartbeatTimeoutS));
  }
  return { items };
}

export const ZCarRef = z.object({ carId: ZUuid }).strict();
export const ZCarDetail = ZCar.extend({
  /** Why the car may take no work now (carRefusal, as a lease call would say); null when it may. */
  rejection: z.enum(REFUSALS).nullable(),
  leases: z.array(z.object({ leaseId: ZUuid, taskId: ZUuid, expiresAt: z.string() })),
  ledger: z.object({
    entries: z.number().int(),
    energyKWh: z.number(),
    costUsd: z.number(),
    payoutUsd: z.number(),
    payoutOwedUsd: z.number(),
  }),
});

export async function getCar(
  deps: ApiDeps,
  state: ApiState,
  carId: string,
): Promise<z.infer<typeof ZCarDetail>> {
  const now = deps.now();
  const [car] = await deps.db.select().from(cars).where(eq(cars.id, carId));
  if (!car) throw notFound("carId", carId);
  const [active, [ledger]] = await Promise.all([
    deps.db
      .select({ leaseId: leases.id, taskId: leases.taskId, expiresAt: leases.expiresAt })
      .from(leases)
      .where(and(eq(leases.carId, carId), eq(leases.status, "active"))),
    deps.db
      .select({
        entries: sql<number>`count(*)::int`,
        energyKWh: sql<number>`coalesce(sum(${ledgerEntries.energyKWh}), 0)::float8`,
        costUsd: sql<number>`coalesce(sum(${ledgerEntries.costUsd}), 0)::float8`,
        payoutUsd: sql<number>`coalesce(sum(${ledgerEntries.payoutUsd}), 0)::float8`,
        payoutOwedUsd: sql<number>`coalesce(sum(${ledgerEntries.payoutOwedUsd}), 0)::float8`,
      })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.carId, carId)),
  ]);
  const regionRows = await state.regions.get(monotonicMs());
  const ctx = scheduleContext(now, regionRows, deps.config);
  return {
    ...toCar(car, active.length, now, deps.config.heartbeatTimeoutS),
    rejection: carRefusal(car, ctx, deps.config),
    leases: active.map((l) => ({ ...l, expiresAt: l.expiresAt.toISOString() })),
    ledger: ledger ?? { entries: 0, energyKWh: 0, costUsd: 0, payoutUsd: 0, payoutOwedUsd: 0 },
  };
}

export const ZQuarantineInput = z
  .object({ carId: ZUuid, reason: ZMultilineText.max(500).optional() })
  .strict();
export const ZQuarantineOutput = z.object({
  quarantined: z.boolean(),
  leasesEnded: z.number().int(),
});

/** Quarantines a car (its leases end at once) or releases it (core's releaseQuarantine). */
export async function setQuarantine(
  deps: ApiDeps,
  operatorId: string,
  input: z.infer<typeof ZQuarantineInput>,
  quarantined: boolean,
): Promise<z.infer<typeof ZQuarantineOutput>> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    // Leases before the car row, the lock order of heartbeat and submit.
    const ended = quarantined
      ? await endLeases(tx, sql`leases.car_id = ${input.carId}`, "cancelled", "quarantined", now)
      : [];
    const [car] = await tx.select().from(cars).where(eq(cars.id, input.carId)).for("update");
    if (!car) throw notFound("carId", input.carId);
    const next = quarantined
      ? { ...reputationOf(car), quarantined: true }
      : releaseQuarantine(reputationOf(car));
    await tx.update(cars).set(next).where(eq(cars.id, car.id));
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: quarantined ? "cars.quarantine" : "cars.release",
      subjectKind: "car",
      subjectId: car.id,
      detail: { reason: input.reason ?? null, leasesEnded: ended.length },
    });
    return { quarantined, leasesEnded: ended.length };
  });
}

export const ZRevokeOutput = z.object({
  /** False when the car's credential was already revoked (a retried call). */
  revoked: z.boolean(),
  leasesEnded: z.number().int(),
});

/**
 * Revokes a car's credential for good (a stolen or decommissioned car): its next call is
 * anonymous, its leases end at once and their work goes elsewhere. The car may enroll again with
 * a new code, as a new car. Idempotent.
 */
export async function revokeCar(
  deps: ApiDeps,
  operatorId: string,
  input: z.infer<typeof ZQuarantineInput>,
): Promise<z.infer<typeof ZRevokeOutput>> {
  const now = deps.now();
  return inTx(deps.db, async (tx) => {
    const ended = await endLeases(
      tx,
      sql`leases.car_id = ${input.carId}`,
      "cancelled",
      "revoked",
      now,
    );
    const [car] = await tx.select().from(cars).where(eq(cars.id, input.carId)).for("update");
    if (!car) throw notFound("carId", input.carId);
    if (car.revokedAt) return { revoked: false, leasesEnded: ended.length };
    await tx.update(cars).set({ revokedAt: now }).where(eq(cars.id, car.id));
    await audit(tx, now, {
      actorKind: "operator",
      actorId: operatorId,
      action: "cars.revoke",
      subjectKind: "car",
      subjectId: car.id,
      detail: { reason: input.reason ?? null, leasesEnded: ended.length },
    });
    return { revoked: true, leasesEnded: ended.length };
  });
}
