// Domain arbitraries for property tests, kept in one place so every test draws cars, regions and
// tenants the same way. fast-check prints the seed and path of any failure; re-run a failure with
// `fc.assert(prop, { seed, path })`.
import fc from "fast-check";
import { HARDWARE } from "../src/hardware";
import { fixedOffset, type OffsetTable } from "../src/local-time";
import type { HeldLease, HoldingLimits } from "../src/schedule/holding";
import type { NewResult, StoredRound } from "../src/settle";
import type { TaskStatus } from "../src/status";
import type { ModelSpec, Region, Tenant, TariffRate, Vehicle, WorkItem } from "../src/types";

export const DAY_S = 86_400;

/** A whole-hour tariff covering 24 local hours in 1..6 contiguous rates, possibly wrapping midnight. */
export const arbTariff: fc.Arbitrary<TariffRate[]> = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 1, max: 23 }), { minLength: 0, maxLength: 5 }),
    fc.integer({ min: 0, max: 23 }),
    fc.array(fc.double({ min: 0.01, max: 0.8, noNaN: true }), { minLength: 6, maxLength: 6 }),
  )
  .map(([cuts, shift, prices]) => {
    const bounds = [0, ...cuts.sort((a, b) => a - b), 24];
    return bounds.slice(0, -1).map((start, i) => ({
      start: (start + shift) % 24,
      end: ((bounds[i + 1] as number) + shift) % 24,
      priceUsdPerKWh: prices[i] as number,
    }));
  });

/**
 * A zone's offset table from a standard offset (hours): fixed, or with a daylight-saving-like
 * change of ±1 h somewhere from a day before 0 to three days after, and maybe a change back up to
 * two days later. Changes fall on the minute grid, like every instant tzdata has.
 */
export const arbOffsets = (standardH: fc.Arbitrary<number>): fc.Arbitrary<OffsetTable> =>
  fc.oneof(
    standardH.map((h) => fixedOffset(h * 3600)),
    fc
      .tuple(
        standardH,
        fc.integer({ min: -24 * 60, max: 3 * 24 * 60 }),
        fc.constantFrom(1, -1),
        fc.option(fc.integer({ min: 1, max: 2 * 24 * 60 }), { nil: null }),
      )
      .map(([h, changeMin, stepH, backAfterMin]) => {
        const changeS = changeMin * 60;
        const table = [
          { fromS: changeS - DAY_S, offsetS: h * 3600 },
          { fromS: changeS, offsetS: (h + stepH) * 3600 },
        ];
        if (backAfterMin !== null)
          table.push({ fromS: changeS + backAfterMin * 60, offsetS: h * 3600 });
        return table;
      }),
  );

export const arbRegion: fc.Arbitrary<Region> = fc.record({
  id: fc.constantFrom("r-west", "r-east", "r-north"),
  name: fc.constant("region"),
  timeZone: fc.constant("Test/Zone"),
  offsets: arbOffsets(fc.integer({ min: -8, max: 9 })),
  tariff: arbTariff,
  carbonGPerKWh: fc.array(fc.double({ min: 20, max: 900, noNaN: true }), {
    minLength: 24,
    maxLength: 24,
  }),
});

export const arbHardware = fc.constantFrom(
  ...Object.values(HARDWARE).filter((h) => h.id !== "h100-sxm"),
);

export const arbVehicle = (overrides: Partial<Vehicle> = {}): fc.Arbitrary<Vehicle> =>
  fc
    .record({
      id: fc.uuid(),
      ownerId: fc.constantFrom("o1", "o2", "o3", "o4", "o5", "o6"),
      regionId: fc.constantFrom("r-west", "r-east", "r-north"),
      hardware: arbHardware,
      state: fc.constantFrom("driving", "parked", "charging") as fc.Arbitrary<Vehicle["state"]>,
      pluggedIn: fc.boolean(),
      chargerKW: fc.constantFrom(0, 3.7, 7.4, 11),
      battery: fc.record({
        capacityKWh: fc.double({ min: 40, max: 110, noNaN: true }),
        socPct: fc.double({ min: 0, max: 100, noNaN: true }),
        chargeEfficiency: fc.double({ min: 0.85, max: 0.95, noNaN: true }),
      }),
      policy: fc.record({
        optedIn: fc.boolean(),
        allowedHours: fc.record({
          startHour: fc.integer({ min: 0, max: 23 }),
          endHour: fc.integer({ min: 0, max: 24 }),
        }),
        minDepartureChargePct: fc.double({ min: 20, max: 90, noNaN: true }),
        reservePct: fc.double({ min: 10, max: 50, noNaN: true }),
      }),
      predictedDepartureS: fc.option(fc.integer({ min: 0, max: 2 * DAY_S }), { nil: null }),
      departureUncertaintyS: fc.integer({ min: 0, max: 3600 }),
      reputation: fc.record({
        validResults: fc.nat(1000),
        invalidResults: fc.nat(20),
        consecutiveValid: fc.nat(100),
        quarantined: fc.boolean(),
      }),
      lastHeardS: fc.constant(null),
      batteryTempC: fc.constant(null),
    })
    .map((v) => ({
      ...v,
      // A car that is charging is plugged in; keep the record consistent.
      pluggedIn: v.state === "charging" ? true : v.state === "driving" ? false : v.pluggedIn,
      ...overrides,
    }));

/** A share on a 1/1000 grid: fc.double over [0, 1] draws mostly tiny values. */
const arbGridShare = fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000);

export const arbTenant: fc.Arbitrary<Tenant> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 6 }),
  name: fc.constant("tenant"),
  quotaShare: arbGridShare,
  weight: fc.integer({ min: 1, max: 100 }).map((x) => x / 10),
  borrowingLimitShare: fc.option(arbGridShare, { nil: null }),
  lendingLimitShare: fc.option(arbGridShare, { nil: null }),
  paused: fc.constant(false),
});

// ---- energy arbitraries (energy helper) ----

/** A battery anywhere from empty to full. */
export const arbBattery: fc.Arbitrary<Vehicle["battery"]> = fc.record({
  capacityKWh: fc.double({ min: 40, max: 110, noNaN: true }),
  socPct: fc.double({ min: 0, max: 100, noNaN: true }),
  chargeEfficiency: fc.double({ min: 0.85, max: 0.95, noNaN: true }),
});

/** Charger wall power (none, home AC, DC fast) and a compute draw from idle to ~2 kW. */
export const arbFlows: fc.Arbitrary<{ chargerKW: number; drawW: number }> = fc.record({
  chargerKW: fc.oneof(
    fc.constantFrom(0, 3.7, 7.4, 11, 50),
    fc.double({ min: 0, max: 150, noNaN: true }),
  ),
  drawW: fc.oneof(fc.constantFrom(0, 72, 1000), fc.double({ min: 0, max: 2000, noNaN: true })),
});

/** A tariff on a quarter-hour grid in 1..8 contiguous rates, possibly wrapping midnight. */
export const arbQuarterHourTariff: fc.Arbitrary<TariffRate[]> = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 1, max: 95 }), { minLength: 0, maxLength: 7 }),
    fc.integer({ min: 0, max: 95 }),
    fc.array(fc.double({ min: 0, max: 0.8, noNaN: true }), { minLength: 8, maxLength: 8 }),
  )
  .map(([cuts, shift, prices]) => {
    const bounds = [0, ...cuts.sort((a, b) => a - b), 96];
    return bounds.slice(0, -1).map((start, i) => ({
      start: ((start + shift) % 96) / 4,
      end: (((bounds[i + 1] as number) + shift) % 96) / 4,
      priceUsdPerKWh: prices[i] as number,
    }));
  });

/** arbRegion, or one with a quarter-hour tariff and a fractional UTC offset (+5:30, +5:45, -3:30), either maybe with changes. */
export const arbAnyRegion: fc.Arbitrary<Region> = fc.oneof(
  arbRegion,
  fc.record({
    id: fc.constantFrom("r-south", "r-asia"),
    name: fc.constant("region"),
    timeZone: fc.constant("Test/Zone"),
    offsets: arbOffsets(fc.constantFrom(-3.5, 0, 5.5, 5.75, 9.5, 12.75)),
    tariff: arbQuarterHourTariff,
    carbonGPerKWh: fc.array(fc.double({ min: 0, max: 900, noNaN: true }), {
      minLength: 24,
      maxLength: 24,
    }),
  }),
);

/** A piece of work: start on a minute grid within two days, 0 s to 12 h, up to 10^7 TeraOp. */
export const arbWork: fc.Arbitrary<{ startS: number; durationS: number; teraOps: number }> =
  fc.record({
    startS: fc.integer({ min: 0, max: 2 * 24 * 60 }).map((m) => m * 60),
    durationS: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 * 3600 })),
    teraOps: fc.double({ min: 0, max: 1e7, noNaN: true }),
  });

// ---- verification arbitraries (verification helper) ----

/** A numeric tolerance from tight (1e-6) to loose (1e-2), absolute and relative. */
export const arbTolerance: fc.Arbitrary<{ abs: number; rel: number }> = fc.record({
  abs: fc.double({ min: 1e-6, max: 1e-2, noNaN: true }),
  rel: fc.double({ min: 0, max: 1e-2, noNaN: true }),
});

/** A finite model output (logits-sized values). */
export const arbOutput = (minLength = 0, maxLength = 16): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength, maxLength });

/** A reputation record, quarantined or not, trusted or not under the default threshold (10). */
export const arbReputation: fc.Arbitrary<Vehicle["reputation"]> = fc.record({
  validResults: fc.nat(200),
  invalidResults: fc.nat(10),
  consecutiveValid: fc.nat(30),
  quarantined: fc.boolean(),
});

// ---- tenant arbitraries (tenants helper) ----

// fc.double draws uniformly over the doubles' bit patterns, so most draws in [0, 1] are tiny
// (1e-200): shares and slots here mix in even grids, which exercise real contention.

/** A share of the fleet 0..1: mostly on a 1/1000 grid, sometimes 0, 1 or any double. */
export const arbShare: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000), weight: 4 },
  { arbitrary: fc.constantFrom(0, 1), weight: 1 },
  { arbitrary: fc.double({ min: 0, max: 1, noNaN: true }), weight: 1 },
);

/**
 * Tenants with distinct ids (arbTenant's), one in five paused, shares redrawn with arbShare.
 * Half the time the quota shares are scaled to sum to `fill` < 1, leaving a pool no quota
 * covers; otherwise they are as drawn, their sum often above 1.
 */
export const arbTenants = (maxLength = 6): fc.Arbitrary<Tenant[]> =>
  fc
    .tuple(
      fc.uniqueArray(
        fc.record({
          base: arbTenant,
          quotaShare: arbShare,
          weight: fc.oneof(
            fc.integer({ min: 1, max: 8 }),
            fc.double({ min: 0.1, max: 10, noNaN: true }),
          ),
          borrowingLimitShare: fc.option(arbShare, { nil: null }),
          lendingLimitShare: fc.option(arbShare, { nil: null }),
          paused: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
        }),
        { maxLength, selector: (r) => r.base.id },
      ),
      fc.oneof(fc.constant(null), fc.double({ min: 0.2, max: 0.99, noNaN: true })),
    )
    .map(([rows, fill]) => {
      const sum = rows.reduce((s, r) => s + r.quotaShare, 0);
      const factor = fill === null ? 1 : fill / Math.max(1, sum);
      return rows.map(({ base, ...r }) => ({ ...base, ...r, quotaShare: r.quotaShare * factor }));
    });

/** Fleet capacity in slots: zero, whole or fractional. */
export const arbCapacity: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constant(0), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 200 }), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 4000 }).map((x) => x / 8), weight: 3 },
  { arbitrary: fc.double({ min: 0, max: 1000, noNaN: true }), weight: 1 },
);

/** Tenants, a capacity and each tenant's demand (slots; zero, partial or more than the fleet). */
export const arbTenantScenario = (
  maxTenants = 6,
): fc.Arbitrary<{ tenants: Tenant[]; capacity: number; demand: Map<string, number> }> =>
  fc
    .tuple(arbTenants(maxTenants), arbCapacity)
    .chain(([tenants, capacity]) =>
      fc
        .array(
          fc.oneof(
            { arbitrary: fc.constant(0), weight: 1 },
            { arbitrary: arbShare.map((x) => x * capacity), weight: 3 },
            { arbitrary: fc.integer({ min: 0, max: Math.ceil(capacity) + 1 }), weight: 1 },
            { arbitrary: fc.constant(capacity * 10 + 1), weight: 2 },
          ),
          { minLength: tenants.length, maxLength: tenants.length },
        )
        .map((ds) => ({
          tenants,
          capacity,
          demand: new Map(tenants.map((t, i) => [t.id, ds[i] ?? 0])),
        })),
    );

/**
 * Running work as groups at a few priorities, each sized as a `fraction` (0..1.5) of a figure
 * the test picks per tenant (e.g. its entitlement, rounded to whole slots), so that tenants land
 * below, at and above what they are owed.
 */
export const arbRunning = (
  tenantIds: readonly string[],
): fc.Arbitrary<{ tenantId: string; priority: number; fraction: number }[]> =>
  tenantIds.length === 0
    ? fc.constant([])
    : fc.array(
        fc.record({
          tenantId: fc.constantFrom(...tenantIds),
          priority: fc.integer({ min: 0, max: 3 }),
          fraction: fc.oneof(
            fc.integer({ min: 0, max: 12 }).map((x) => x / 8),
            fc.double({ min: 0, max: 1.5, noNaN: true }),
          ),
        }),
        { maxLength: 12 },
      );

// ---- scheduler arbitraries (scheduler helper) ----

export const REGION_IDS = ["r-west", "r-east", "r-north"] as const;
export const OWNER_IDS = ["o1", "o2", "o3", "o4", "o5", "o6"] as const;

/** One region for each id that arbVehicle draws, so that every car finds its region. */
export const arbRegionSet: fc.Arbitrary<Region[]> = fc
  .tuple(arbRegion, arbRegion, arbRegion)
  .map((rs) => rs.map((r, i) => ({ ...r, id: REGION_IDS[i] as string })));

/** A moment within the two days arbVehicle's departures span; often on a whole hour. */
export const arbNowS: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 2 * DAY_S }),
  fc.integer({ min: 0, max: 47 }).map((h) => h * 3600),
);

/**
 * A model from tiny to larger than any car's memory, with an inference taking from about a
 * millisecond to longer than the longest run on the cars of `HARDWARE` (43–750 sustained TOPS).
 */
export const arbModel: fc.Arbitrary<ModelSpec> = fc.record({
  id: fc.constantFrom("ocr-det", "ocr-rec", "llm-7b"),
  memoryGB: fc.oneof(
    fc.constantFrom(0.5, 8, 16, 32, 64, 144, 200),
    fc.double({ min: 0.01, max: 200, noNaN: true }),
  ),
  teraOpsPerInference: fc.oneof(
    fc.double({ min: 0.01, max: 10, noNaN: true }),
    fc.double({ min: 10, max: 1e5, noNaN: true }),
    fc.double({ min: 1e5, max: 4e6, noNaN: true }),
  ),
});

/** A work item; fields in `overrides` replace the drawn ones. */
export const arbWorkItem = (overrides: Partial<WorkItem> = {}): fc.Arbitrary<WorkItem> =>
  fc
    .record({
      id: fc.integer({ min: 0, max: 1e6 }).map((n) => `w${n}`),
      jobId: fc.constantFrom("j1", "j2", "j3"),
      tenantId: fc.constantFrom("t1", "t2", "t3"),
      model: arbModel,
      inferences: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 1e6 })),
      divisible: fc.boolean(),
      maxRunInferences: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
      priority: fc.integer({ min: 0, max: 3 }),
      deadlineS: fc.integer({ min: 0, max: 3 * DAY_S }),
      objective: fc.constantFrom(undefined, "soonest" as const, "cheapest" as const, "cleanest" as const),
      dataRegionId: fc.constantFrom(null, ...REGION_IDS),
      excludeVehicleIds: fc.array(fc.uuid(), { maxLength: 2 }),
      excludeOwnerIds: fc.subarray([...OWNER_IDS], { maxLength: 3 }),
    })
    .map((w) => ({ ...w, ...overrides }));

/**
 * A car for scheduler properties: half the time any car (arbVehicle), half the time one that leans
 * towards eligible (parked or charging, opted in, not quarantined, hours often all day), its charge
 * often exactly at or just above its reserve or departure minimum, so that the energy limits bind.
 */
export const arbSchedVehicle: fc.Arbitrary<Vehicle> = fc.oneof(
  arbVehicle(),
  fc
    .record({
      v: arbVehicle(),
      state: fc.constantFrom("parked", "charging") as fc.Arbitrary<Vehicle["state"]>,
      hours: fc.option(
        fc.constantFrom({ startHour: 0, endHour: 24 }, { startHour: 9, endHour: 9 }),
        {
          nil: null,
        },
      ),
      soc: fc.oneof(
        fc.constant(null),
        fc.record({
          at: fc.constantFrom("reserve", "departure"),
          plusPct: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 5, noNaN: true })),
        }),
      ),
    })
    .map(({ v, state, hours, soc }) => {
      const policy = { ...v.policy, optedIn: true, allowedHours: hours ?? v.policy.allowedHours };
      const basePct = soc?.at === "reserve" ? policy.reservePct : policy.minDepartureChargePct;
      const socPct = soc === null ? v.battery.socPct : Math.min(100, basePct + soc.plusPct);
      return {
        ...v,
        state,
        pluggedIn: state === "charging" ? true : v.pluggedIn,
        policy,
        battery: { ...v.battery, socPct },
        reputation: { ...v.reputation, quarantined: false },
      };
    }),
);

/** A fleet of `arbSchedVehicle`s with ids "v0", "v1", … so that work can name them. */
export const arbFleet = (maxCars = 24): fc.Arbitrary<Vehicle[]> =>
  fc
    .array(arbSchedVehicle, { maxLength: maxCars })
    .map((cars) => cars.map((v, i) => ({ ...v, id: `v${i}` })));

// ---- figures a car reports, for pay ----

/**
 * A figure as a car might report it: plausible, at the edges, or absurd (the tiniest doubles,
 * huge ones, negatives, NaN and the infinities). Cars are strangers: any of these may arrive.
 */
export const arbClaimedFigure = (plausible: fc.Arbitrary<number>): fc.Arbitrary<number> =>
  fc.oneof(
    { arbitrary: plausible, weight: 4 },
    {
      arbitrary: fc.constantFrom(0, 5e-324, 1e-300, 1e-12, 1e300, -1, -0, NaN, Infinity, -Infinity),
      weight: 2,
    },
    { arbitrary: fc.double(), weight: 2 },
  );

// ---- what a car holds ----

/** Limits on what a car holds: a lease lifetime of 10 s to an hour, 1 to 256 leases, 1 to 5 lives. */
export const arbHoldingLimits: fc.Arbitrary<HoldingLimits> = fc.record({
  leaseTtlS: fc.integer({ min: 10, max: 3600 }),
  maxLeases: fc.integer({ min: 1, max: 256 }),
  maxLifetimes: fc.integer({ min: 1, max: 5 }),
});

/** The server's estimate of one task's run, s: from a tiny model's nanoseconds to two hours. */
export const arbRunS: fc.Arbitrary<number> = fc.oneof(
  fc.double({ min: 1e-9, max: 1e-3, noNaN: true }),
  fc.double({ min: 1e-3, max: 7200, noNaN: true }),
);

/** A car's leases: when each was leased (within an hour before 0) and its estimated run. */
export const arbHeldLeases = (maxLength = 300): fc.Arbitrary<HeldLease[]> =>
  fc.array(fc.record({ leasedAtS: fc.integer({ min: -3600, max: 0 }), runS: arbRunS }), {
    maxLength,
  });

/**
 * A batch of new results from one car for settle: each for its own task (one lease per task and
 * owner), the task open, verifying, valid or failed, in a round of earlier results from other
 * cars. Outputs come from a palette of three answers, so that replicas agree and disagree.
 */
export const arbSettleBatch: fc.Arbitrary<{
  results: NewResult[];
  rounds: Map<string, StoredRound>;
}> = fc
  .tuple(
    arbReputation,
    fc.boolean(),
    fc.array(
      fc.record({
        status: fc.constantFrom<TaskStatus>("open", "verifying", "valid", "failed"),
        attempt: fc.nat(2),
        stale: fc.boolean(),
        replicasRequired: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
        replication: fc.oneof(fc.constant<"auto">("auto"), fc.integer({ min: 1, max: 4 })),
        canary: fc.boolean(),
        answer: fc.nat(2),
        owedUsd: fc.double({ min: 0, max: 5, noNaN: true }),
        expiresAtMs: fc.nat(2 ** 40),
        replicated: fc.boolean(),
        outstanding: fc.integer({ min: 1, max: 4 }),
        openUnits: fc.uniqueArray(fc.nat(1000), { maxLength: 3 }),
        earlier: fc.array(
          fc.record({
            answer: fc.nat(2),
            owner: fc.nat(3),
            trusted: fc.boolean(),
            vouched: fc.boolean(),
          }),
          { maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([reputation, vouched, tasks]) => {
    const answers = [
      [0, 1],
      [0.5, 1],
      [9, 9],
    ];
    const rounds = new Map<string, StoredRound>();
    const results = tasks.map((t, i): NewResult => {
      const taskId = `t${i}`;
      const earlier = t.earlier.map((e, k) => ({
        resultId: `r${i}.${k}`,
        leaseId: `l${i}.${k}`,
        carId: `c${i}.${k}`,
        ownerId: `o${e.owner}`,
        output: answers[e.answer] as number[],
        trusted: e.trusted,
        vouched: e.vouched,
      }));
      if (t.replicated || t.status === "valid") {
        rounds.set(taskId, {
          results: t.status === "valid" ? [] : earlier,
          outstanding: t.outstanding,
          openUnitIds: t.openUnits,
          canonicalOutput:
            t.status === "valid" ? (answers[t.earlier[0]?.answer ?? 0] as number[]) : null,
        });
      }
      return {
        resultId: `r${i}`,
        leaseId: `l${i}`,
        carId: "car",
        ownerId: "owner",
        output: answers[t.answer] as number[],
        reputation,
        vouched,
        canary: t.status === "valid" && t.canary,
        unitAttempt: t.stale && t.attempt > 0 ? t.attempt - 1 : t.attempt,
        leaseExpiresAtMs: t.expiresAtMs,
        payoutOwedUsd: t.owedUsd,
        tolerance: { abs: 1e-3, rel: 1e-3 },
        task: {
          id: taskId,
          jobId: `j${i % 2}`,
          status: t.status,
          attempt: t.attempt,
          replicasRequired: t.replicated
            ? Math.max(2, t.replicasRequired ?? 2)
            : t.replicasRequired && 1,
          replication: t.replication,
        },
      };
    });
    return { results, rounds };
  });
