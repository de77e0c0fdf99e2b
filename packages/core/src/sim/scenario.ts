// A scenario: everything about the world the simulator needs besides fleet size, duration and
// seed. Validated with zod so that a bad file gets an error naming the field; the default is
// `DEFAULT_SCENARIO` and a scenario file may override any part of it.
import { OBJECTIVES } from "../types";
import { z } from "zod";
import { HARDWARE } from "../hardware";
import { TariffError, validateCarbon, validateTariff } from "../tariff";

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const share = finite.min(0, "must be ≥ 0").max(1, "must be ≤ 1");
const pct = finite.min(0, "must be ≥ 0").max(100, "must be ≤ 100");
const positive = finite.gt(0, "must be > 0");
const hour = finite.min(0, "must be ≥ 0").max(24, "must be ≤ 24");
const id = z.string().min(1, "must not be empty").max(64, "must be at most 64 characters");
/**
 * The shape of an IANA zone name ("Europe/Stockholm", "UTC", "Etc/GMT+8"). Whether the zone
 * exists is for the shell to say: core has no time-zone database.
 */
export const ZTimeZoneName = z
  .string()
  .max(64, "must be at most 64 characters")
  .regex(
    /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/,
    'must be an IANA time zone name such as "America/Chicago"',
  );

/** A range drawn uniformly per car. */
const ZRange = (inner: z.ZodNumber) =>
  z
    .object({ min: inner, max: inner })
    .strict()
    .refine((r) => r.min <= r.max, { message: "min must be ≤ max", path: ["min"] });

export const ZTariffRate = z
  .object({ start: hour, end: hour, priceUsdPerKWh: finite.min(0, "must be ≥ 0") })
  .strict();

export const ZRegion = z
  .object({
    id,
    name: z.string().min(1).max(100),
    /** IANA time zone: local time for tariffs, carbon, owners' hours and commutes. */
    timeZone: ZTimeZoneName,
    /** Share of the fleet that lives in this region (normalised over all regions). */
    fleetShare: share,
    tariff: z.array(ZTariffRate).min(1, "needs at least one rate"),
    carbonGPerKWh: z.array(finite.min(0, "must be ≥ 0")).length(24, "needs 24 hourly values"),
  })
  .strict()
  .superRefine((region, ctx) => {
    for (const [field, check] of [
      ["tariff", () => validateTariff(region.tariff)],
      ["carbonGPerKWh", () => validateCarbon(region.carbonGPerKWh)],
    ] as const) {
      try {
        check();
      } catch (error) {
        if (!(error instanceof TariffError)) throw error;
        ctx.addIssue({ code: "custom", path: [field], message: error.message });
      }
    }
  });

export const ZHardwareShare = z
  .object({
    hardwareId: z.string().refine((h) => h in HARDWARE && h !== "h100-sxm", {
      message: `must be one of ${Object.keys(HARDWARE)
        .filter((h) => h !== "h100-sxm")
        .join(", ")}`,
    }),
    share,
  })
  .strict();

export const ZAllowedHoursShare = z.object({ startHour: hour, endHour: hour, share }).strict();

export const ZParticipation = z
  .object({
    /** Owners who opted in to lend their car's computer. */
    optInShare: share,
    /** Cars with a charger at home, and how often those are plugged in overnight. */
    homeChargerShare: share,
    homePlugInProbability: share,
    homeChargerKW: ZRange(positive),
    /** Chance of a charger at a workplace stay. */
    workChargerProbability: share,
    workChargerKW: positive,
    reservePct: ZRange(pct),
    minDepartureChargePct: ZRange(pct),
    allowedHours: z.array(ZAllowedHoursShare).min(1),
  })
  .strict();

export const ZMobility = z
  .object({
    /** Shares of daily patterns (normalised). */
    commuter: share,
    homebody: share,
    nightShift: share,
    rideshare: share,
    /** Spread of a planned departure around its prediction, seconds (one standard deviation). */
    departureSpreadS: finite.min(0).max(4 * 3600),
    /** Chance that a stay ends at an unplanned moment. */
    unplannedDepartureProbability: share,
    batteryKWh: ZRange(positive),
    chargeEfficiency: share,
    drivingKWhPerKm: positive,
  })
  .strict();

export const ZModel = z.object({ id, memoryGB: positive, teraOpsPerInference: positive }).strict();

export const ZTenant = z
  .object({
    id,
    name: z.string().min(1).max(100),
    quotaShare: share,
    weight: positive,
    borrowingLimitShare: share.nullable(),
    lendingLimitShare: share.nullable(),
  })
  .strict();

export const ZWorkloadStream = z
  .object({
    tenantId: id,
    modelId: id,
    /** This stream's share of the demanded compute (normalised over streams). */
    demandShare: share,
    /** Mean job size in car-hours on the fleet's average car. */
    jobCarHours: positive,
    priority: z.number().int().min(0).max(9),
    deadlineH: positive,
    replication: z.union([z.literal("auto"), z.number().int().min(1).max(5)]),
    /** What the stream's jobs are scheduled for (core's deferral); "soonest" when absent. */
    objective: z.enum(OBJECTIVES).optional(),
    /** Demand by UTC hour, relative (normalised); 24 values. */
    hourlyProfile: z.array(finite.min(0)).length(24, "needs 24 hourly values"),
  })
  .strict();

export const ZWorkload = z
  .object({
    /** Demanded compute as a share of the whole fleet's sustained compute, averaged over the day. */
    intensity: finite.min(0).max(10),
    streams: z.array(ZWorkloadStream).min(1),
  })
  .strict();

export const ZVerification = z
  .object({
    /** Cars that return perturbed outputs; cars that return one shared wrong output together. */
    cheaterShare: share,
    colluderShare: share,
  })
  .strict();

export const ZScenario = z
  .object({
    name: z.string().min(1).max(100),
    regions: z.array(ZRegion).min(1),
    hardwareMix: z.array(ZHardwareShare).min(1),
    mobility: ZMobility,
    participation: ZParticipation,
    models: z.array(ZModel).min(1),
    tenants: z.array(ZTenant).min(1),
    workload: ZWorkload,
    verification: ZVerification,
    referenceDatacenter: z
      .object({ name: z.string().min(1), powerMW: positive, gpus: positive })
      .strict(),
    cost: z
      .object({ batteryWearUsdPerKWh: finite.min(0), computeUsdPerPetaOp: finite.min(0) })
      .strict(),
    /** How often the scheduler places queued work, and how often figures are sampled. */
    tickS: finite.min(10).max(3600),
    sampleS: finite.min(60).max(3600),
  })
  .strict()
  .superRefine((s, ctx) => {
    const unique = (values: string[], path: string) => {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        if (seen.has(v))
          ctx.addIssue({ code: "custom", path: [path, i, "id"], message: `duplicate id "${v}"` });
        seen.add(v);
      });
    };
    unique(
      s.regions.map((r) => r.id),
      "regions",
    );
    unique(
      s.models.map((m) => m.id),
      "models",
    );
    unique(
      s.tenants.map((t) => t.id),
      "tenants",
    );
    const tenants = new Set(s.tenants.map((t) => t.id));
    const models = new Set(s.models.map((m) => m.id));
    s.workload.streams.forEach((w, i) => {
      if (!tenants.has(w.tenantId))
        ctx.addIssue({
          code: "custom",
          path: ["workload", "streams", i, "tenantId"],
          message: `unknown tenant "${w.tenantId}"`,
        });
      if (!models.has(w.modelId))
        ctx.addIssue({
          code: "custom",
          path: ["workload", "streams", i, "modelId"],
          message: `unknown model "${w.modelId}"`,
        });
    });
    for (const [path, values] of [
      ["regions", s.regions.map((r) => r.fleetShare)],
      ["hardwareMix", s.hardwareMix.map((h) => h.share)],
      ["participation.allowedHours", s.participation.allowedHours.map((h) => h.share)],
      ["workload.streams", s.workload.streams.map((w) => w.demandShare)],
    ] as const) {
      if (values.reduce((a, b) => a + b, 0) <= 0)
        ctx.addIssue({
          code: "custom",
          path: path.split("."),
          message: "shares must not all be 0",
        });
    }
    const m = s.mobility;
    if (m.commuter + m.homebody + m.nightShift + m.rideshare <= 0)
      ctx.addIssue({
        code: "custom",
        path: ["mobility"],
        message: "pattern shares must not all be 0",
      });
  });

export type Scenario = z.infer<typeof ZScenario>;
export type ScenarioInput = z.input<typeof ZScenario>;

export class ScenarioError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(
      `invalid scenario:\n${issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`).join("\n")}`,
    );
    this.name = "ScenarioError";
  }
}

/**
 * A scenario from untrusted JSON: a partial scenario merged over the default (objects merge
 * key by key; arrays replace), then validated. Throws ScenarioError naming each bad field.
 */
export function parseScenario(input: unknown, base: Scenario = DEFAULT_SCENARIO): Scenario {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ScenarioError([{ path: "", message: "a scenario must be a JSON object" }]);
  }
  const merged = mergeDeep(base, input as Record<string, unknown>);
  const result = ZScenario.safeParse(merged);
  if (!result.success) {
    throw new ScenarioError(
      result.error.issues.flatMap((i) => {
        const retired = retiredOffsetIssue(merged, i);
        return retired ?? [{ path: formatPath(i.path), message: i.message }];
      }),
    );
  }
  return result.data;
}

/**
 * Scenario files written before regions took a time zone give `utcOffsetH`. A fixed offset put
 * tariffs an hour off whenever daylight saving time was in force, so it is refused, with the way
 * out named, instead of being reported as an unknown key and a missing one.
 */
function retiredOffsetIssue(
  merged: unknown,
  issue: z.core.$ZodIssue,
): { path: string; message: string }[] | null {
  const [top, index, key] = issue.path;
  if (top !== "regions" || typeof index !== "number") return null;
  const region = (merged as { regions?: unknown[] }).regions?.[index];
  if (typeof region !== "object" || region === null || !("utcOffsetH" in region)) return null;
  if (issue.code === "unrecognized_keys" && issue.keys.includes("utcOffsetH")) {
    const others = issue.keys.filter((k) => k !== "utcOffsetH");
    return [
      {
        path: `${formatPath(issue.path)}.utcOffsetH`,
        message:
          'replaced by timeZone: give the region\'s IANA time zone (e.g. "America/Chicago"; ' +
          '"Etc/GMT+6" is a fixed UTC−6 with no daylight saving time)',
      },
      ...(others.length > 0 ? [{ path: formatPath(issue.path), message: issue.message }] : []),
    ];
  }
  // The missing timeZone of such a region is the same problem, already reported.
  if (key === "timeZone" && !("timeZone" in region)) return [];
  return null;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

function mergeDeep(base: unknown, override: unknown): unknown {
  if (
    typeof base === "object" &&
    base !== null &&
    !Array.isArray(base) &&
    typeof override === "object" &&
    override !== null &&
    !Array.isArray(override)
  ) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(override)) out[k] = mergeDeep(out[k], v);
    return out;
  }
  return override === undefined ? base : override;
}

// ---- the default world ----

const flat = (value: number): number[] => Array.from({ length: 24 }, () => value);

/** Carbon over a local day: a solar dip at midday and an evening peak. */
const solarCurve = (night: number, noon: number, evening: number): number[] =>
  Array.from({ length: 24 }, (_, h) => {
    const sun = Math.max(0, Math.cos(((h - 13) / 12) * Math.PI * 1.4));
    const peak = h >= 17 && h <= 21 ? evening - night : 0;
    return Math.round(night - (night - noon) * sun + peak);
  });

export const DEFAULT_SCENARIO: Scenario = ZScenario.parse({
  name: "default: three grid zones, three tenants, a mixed fleet",
  regions: [
    {
      // Time-of-use shape of a California residential EV rate (off-peak overnight, peak 16–21h);
      // prices rounded, for illustration.
      id: "us-west",
      name: "US West",
      timeZone: "America/Los_Angeles",
      fleetShare: 0.45,
      tariff: [
        { start: 0, end: 6, priceUsdPerKWh: 0.28 },
        { start: 6, end: 16, priceUsdPerKWh: 0.38 },
        { start: 16, end: 21, priceUsdPerKWh: 0.55 },
        { start: 21, end: 24, priceUsdPerKWh: 0.38 },
      ],
      carbonGPerKWh: solarCurve(280, 110, 380),
    },
    {
      // A Texas-like zone: cheap nights, gas-heavy evenings.
      id: "us-central",
      name: "US Central",
      timeZone: "America/Chicago",
      fleetShare: 0.3,
      tariff: [
        { start: 21, end: 7, priceUsdPerKWh: 0.09 },
        { start: 7, end: 14, priceUsdPerKWh: 0.14 },
        { start: 14, end: 21, priceUsdPerKWh: 0.22 },
      ],
      carbonGPerKWh: solarCurve(420, 300, 480),
    },
    {
      // A Nordic-like zone: hydro and nuclear, flat carbon, modest day/night spread.
      id: "eu-north",
      name: "EU North",
      timeZone: "Europe/Stockholm",
      fleetShare: 0.25,
      tariff: [
        { start: 22, end: 6, priceUsdPerKWh: 0.12 },
        { start: 6, end: 22, priceUsdPerKWh: 0.2 },
      ],
      carbonGPerKWh: flat(35),
    },
  ],
  hardwareMix: [
    { hardwareId: "fsd-hw3", share: 0.3 },
    { hardwareId: "drive-orin", share: 0.2 },
    { hardwareId: "fsd-hw4", share: 0.3 },
    { hardwareId: "drive-thor", share: 0.1 },
    { hardwareId: "ai5-class", share: 0.1 },
  ],
  mobility: {
    commuter: 0.55,
    homebody: 0.25,
    nightShift: 0.08,
    rideshare: 0.12,
    departureSpreadS: 20 * 60,
    unplannedDepartureProbability: 0.03,
    batteryKWh: { min: 55, max: 100 },
    chargeEfficiency: 0.9,
    // A mid-size EV uses ~0.15–0.2 kWh/km (EPA ratings of common models).
    drivingKWhPerKm: 0.17,
  },
  participation: {
    optInShare: 0.6,
    homeChargerShare: 0.7,
    homePlugInProbability: 0.8,
    homeChargerKW: { min: 7.4, max: 11 },
    workChargerProbability: 0.2,
    workChargerKW: 7.4,
    reservePct: { min: 20, max: 40 },
    minDepartureChargePct: { min: 50, max: 80 },
    allowedHours: [
      { startHour: 0, endHour: 24, share: 0.5 },
      { startHour: 20, endHour: 7, share: 0.35 },
      { startHour: 9, endHour: 17, share: 0.15 },
    ],
  },
  // A task is one model run on one input batch. Its work is given as effective TeraOps: the
  // seconds it takes at a car's sustained rate × that rate. Small models are memory-bound and
  // language models bandwidth-bound, so these are calibrated to the time a task takes on the
  // 2019 generation (fsd-hw3, ~43 sustained TOPS), not to the models' nominal FLOPs.
  models: [
    // PaddleOCR v4 text detection, a batch of 64 pages at 640×640: ~4 s on fsd-hw3 (assumed).
    { id: "ocr-det", memoryGB: 0.5, teraOpsPerInference: 170 },
    // ViT-B/16 image embeddings, a batch of 256 images: ~10 s on fsd-hw3 (assumed).
    { id: "vit-b16", memoryGB: 1, teraOpsPerInference: 430 },
    // A 7B-parameter language model in INT8 (~7 GB of weights plus cache, so not on 8 GB
    // computers), one request of 256 tokens: ~10 s on a 2020s car computer (assumed).
    { id: "llm-7b-256tok", memoryGB: 10, teraOpsPerInference: 430 },
  ],
  tenants: [
    {
      id: "acme-vision",
      name: "Acme Vision",
      quotaShare: 0.5,
      weight: 2,
      borrowingLimitShare: null,
      lendingLimitShare: null,
    },
    {
      id: "mapworks",
      name: "Mapworks",
      quotaShare: 0.3,
      weight: 1,
      borrowingLimitShare: 0.4,
      lendingLimitShare: null,
    },
    {
      id: "lab-batch",
      name: "Lab Batch",
      quotaShare: 0.1,
      weight: 1,
      borrowingLimitShare: null,
      lendingLimitShare: 0.05,
    },
  ],
  workload: {
    intensity: 0.12,
    streams: [
      {
        tenantId: "acme-vision",
        modelId: "ocr-det",
        demandShare: 0.45,
        jobCarHours: 40,
        priority: 5,
        deadlineH: 6,
        replication: "auto",
        hourlyProfile: flat(1),
      },
      {
        tenantId: "mapworks",
        modelId: "vit-b16",
        demandShare: 0.3,
        jobCarHours: 80,
        priority: 3,
        deadlineH: 12,
        replication: "auto",
        // A nightly batch: most demand between 02:00 and 10:00 UTC.
        hourlyProfile: Array.from({ length: 24 }, (_, h) => (h >= 2 && h < 10 ? 4 : 0.3)),
      },
      {
        tenantId: "lab-batch",
        modelId: "llm-7b-256tok",
        demandShare: 0.25,
        jobCarHours: 120,
        priority: 1,
        deadlineH: 24,
        replication: 2,
        hourlyProfile: flat(1),
      },
    ],
  },
  verification: { cheaterShare: 0.01, colluderShare: 0.002 },
  referenceDatacenter: { name: "Colossus phase 1 (Memphis)", powerMW: 150, gpus: 200_000 },
  cost: { batteryWearUsdPerKWh: 0.09, computeUsdPerPetaOp: 0.0001 },
  tickS: 300,
  sampleS: 900,
});
