// The demo world (`serve --demo`), written once and safe to run again: core's default regions and
// tenants (one API key each), an operator, the demo's two enrollment codes and every model of the
// registry. Secrets are returned only when they are created: nobody can read them back later.
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import type { Db } from "@nightshift/db/client";
import { enrollmentCodes, models, operators, regions, tenants } from "@nightshift/db/schema";
import { type ModelManifest, oneInputDims } from "@nightshift/models/manifest";
import { MODELS } from "@nightshift/models/registry";
import { TINY_IN, tinyMlpReference } from "@nightshift/models/tiny-mlp";
import { eq, sql } from "drizzle-orm";
import { hashPassword, newPassword, sha256Hex } from "./crypto";
import type { Executor } from "./services/db";
import { insertEnrollmentCode, MAX_PUBLIC_CODE_USES } from "./services/enroll";
import { addKey } from "./services/tenants";

/**
 * The demo's public code: anyone may enroll a car with it (the vehicle page's default), and each
 * car's owner is a stranger nobody vouched for, so that no number of them makes a quorum alone.
 * Bounded: MAX_PUBLIC_CODE_USES uses, for DEMO_PUBLIC_CODE_LIFETIME_S from the first seeding.
 */
export const DEMO_PUBLIC_CODE = "DEMO-NIGHTSHIFT";
export const DEMO_PUBLIC_CODE_LIFETIME_S = 30 * 24 * 3600;
/**
 * Uses of the demo fleet's code (SeedResult.enrollmentCode): a thousand restarts of the largest
 * demo fleet (1,000 cars, each enrolled anew at every start).
 */
export const DEMO_FLEET_CODE_USES = 1_000_000;
export const DEMO_OPERATOR_EMAIL = "operator@nightshift.local";

/** The model for fast tests and benchmarks: tiny-mlp, a real ONNX file built by the repository. */
export const TEST_MODEL_ID = "tiny-mlp";

/** One tiny-mlp task input (x: [1, 16]) from any numbers: repeated to fill its 16 values. */
export function tinyInput(values: readonly number[]): { x: { dims: number[]; data: number[] } } {
  if (values.length === 0) throw new Error("tinyInput needs at least one value");
  const data = Array.from({ length: TINY_IN }, (_, i) => values[i % values.length] as number);
  return { x: { dims: [1, TINY_IN], data } };
}

/**
 * What tiny-mlp computes for one input (16 values), for agents and tests that stand in for
 * onnxruntime: float64, within the model's tolerance of a float32 run.
 */
export function runTiny(x: readonly number[]): number[] {
  return Array.from(tinyMlpReference(x, 1));
}

/**
 * The models table's row of a manifest: shapes per task (a "batch" dimension is 1; sizes that
 * follow the input image, the detector's "height" and "width", keep their names).
 */
export function modelRow(m: ModelManifest) {
  const [out] = m.outputs;
  return {
    id: m.id,
    version: m.version,
    sha256: m.sha256,
    sizeBytes: m.sizeBytes,
    memoryGB: m.memoryGB,
    teraOpsPerInference: m.teraOpsPerInference,
    inputSpec:
      m.preprocess.kind === "tensor"
        ? Object.fromEntries(
            m.inputs.map((i) => [i.name, { dims: oneInputDims(i.dims), type: i.dtype }]),
          )
        : { image: m.preprocess },
    outputSpec: {
      name: out!.name,
      dims: out!.dims.map((d) => (d === "batch" ? 1 : d)),
      type: out!.dtype,
    },
    tolerance: m.tolerance,
  };
}

/**
 * Writes every model of the registry into the models table, on every start-up: the registry is
 * the truth about models, so a changed manifest updates its row. Safe to run twice.
 */
export async function registerModels(db: Pick<Db, "insert">): Promise<void> {
  for (const m of MODELS) {
    const row = modelRow(m);
    await db
      .insert(models)
      .values(row)
      .onConflictDoUpdate({ target: models.id, set: { ...row, id: undefined } });
  }
}

export interface SeedOptions {
  operatorEmail?: string;
  /** Generated when absent (and returned, on first creation only). */
  operatorPassword?: string;
  operatorName?: string;
  /** A precomputed hash of operatorPassword (tests: a cheap one); computed when absent. */
  operatorPasswordHash?: string;
  /** The clock the public code's expiry is counted on; the wall clock's by default. */
  now?: Date;
  /**
   * A fleet code even where the operator exists already (then made by that operator): for a demo
   * whose saved secrets hold none, from a release before fleet codes.
   */
  newFleetCode?: boolean;
}

export interface SeedResult {
  /** The demo regions and their time zones (a headless fleet drives by their clocks). */
  regions: { id: string; timeZone: string }[];
  /** apiKey is the plaintext key when the tenant was created now, else null. */
  tenants: { id: string; apiKey: string | null }[];
  operator: { email: string; password: string | null; created: boolean };
  /**
   * The code of the demo's own fleet, made with the operator (null after, unless newFleetCode):
   * not public, so its cars' owners are vouched for by the demo's operator and count as
   * independent, as the replicas of a task need. For the demo command's fleet, scripts' fleets
   * and tests.
   */
  enrollmentCode: string | null;
  /** DEMO_PUBLIC_CODE: a stranger's car enrolls with it. */
  publicCode: string;
  models: string[];
}

export async function seedDemo(db: Db, opts: SeedOptions = {}): Promise<SeedResult> {
  const email = (opts.operatorEmail ?? DEMO_OPERATOR_EMAIL).toLowerCase();
  const [existing] = await db
    .select({ id: operators.id })
    .from(operators)
    .where(eq(operators.email, email));
  const password = existing ? null : (opts.operatorPassword ?? newPassword());
  // scrypt is slow on purpose: hash outside the transaction.
  const passwordHash =
    password === null ? null : (opts.operatorPasswordHash ?? (await hashPassword(password)));

  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    // Instances that seed one database at once: one at a time, each finding what the last wrote.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('nightshift:seed'))`);
    await tx
      .insert(regions)
      .values(
        DEFAULT_SCENARIO.regions.map(({ fleetShare: _share, ...r }) => ({
          id: r.id,
          name: r.name,
          timeZone: r.timeZone,
          tariff: r.tariff,
          carbonGPerKWh: r.carbonGPerKWh,
        })),
      )
      .onConflictDoNothing();

    const tenantsOut: SeedResult["tenants"] = [];
    for (const t of DEFAULT_SCENARIO.tenants) {
      const [created] = await tx
        .insert(tenants)
        .values(t)
        .onConflictDoNothing()
        .returning({ id: tenants.id });
      tenantsOut.push({ id: t.id, apiKey: created ? (await addKey(tx, t.id, now)).key : null });
    }

    let created: string | null = null;
    if (passwordHash !== null) {
      const [op] = await tx
        .insert(operators)
        .values({ email, name: opts.operatorName ?? "Demo operator", passwordHash })
        .onConflictDoNothing()
        .returning({ id: operators.id });
      created = op?.id ?? null;
    }
    // The fleet's code comes with its operator, who vouches for the owners it makes.
    let maker = created;
    if (!maker && opts.newFleetCode) {
      const [op] = await tx
        .select({ id: operators.id })
        .from(operators)
        .where(eq(operators.email, email));
      maker = op?.id ?? null;
    }
    const fleetCode = maker
      ? await insertEnrollmentCode(tx, now, maker, { public: false, uses: DEMO_FLEET_CODE_USES })
      : null;
    await seedPublicCode(tx, now);
    await registerModels(tx);

    return {
      regions: DEFAULT_SCENARIO.regions.map((r) => ({ id: r.id, timeZone: r.timeZone })),
      tenants: tenantsOut,
      operator: { email, password: created ? password : null, created: created !== null },
      enrollmentCode: fleetCode?.code ?? null,
      publicCode: DEMO_PUBLIC_CODE,
      models: MODELS.map((m) => m.id),
    };
  });
}

/**
 * DEMO_PUBLIC_CODE, made once. One of an earlier release (unbounded then; migration 0003 made it
 * public and capped its uses) gets an expiry too. A revoked one stays revoked; spent uses are
 * never given back.
 */
async function seedPublicCode(tx: Executor, now: Date): Promise<void> {
  const codeHash = sha256Hex(DEMO_PUBLIC_CODE);
  const expiresAt = new Date(now.getTime() + DEMO_PUBLIC_CODE_LIFETIME_S * 1000);
  const [known] = await tx
    .update(enrollmentCodes)
    .set({
      public: true,
      usesLeft: sql`LEAST(${enrollmentCodes.usesLeft}, ${MAX_PUBLIC_CODE_USES})`,
      expiresAt: sql`COALESCE(${enrollmentCodes.expiresAt}, ${expiresAt.toISOString()}::timestamptz)`,
    })
    .where(eq(enrollmentCodes.codeHash, codeHash))
    .returning({ codeHash: enrollmentCodes.codeHash });
  if (known) return;
  await insertEnrollmentCode(
    tx,
    now,
    null,
    { public: true, uses: MAX_PUBLIC_CODE_USES, expiresInS: DEMO_PUBLIC_CODE_LIFETIME_S },
    DEMO_PUBLIC_CODE,
  );
}
