// The demo world, written once and safe to run again: core's default regions and tenants (one
// API key each), an operator, the demo enrollment code and every model of the registry. Secrets are
// returned only when they are created: nobody can read them back later.
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import type { Db } from "@nightshift/db/client";
import { enrollmentCodes, models, operators, regions, tenants } from "@nightshift/db/schema";
import { type ModelManifest, oneInputDims } from "@nightshift/models/manifest";
import { MODELS } from "@nightshift/models/registry";
import { TINY_IN, tinyMlpReference } from "@nightshift/models/tiny-mlp";
import { eq } from "drizzle-orm";
import { hashPassword, newPassword, sha256Hex } from "./crypto";
import { addKey } from "./services/tenants";

/** The code any car may enroll with in the demo, as many times as it likes. */
export const DEMO_ENROLLMENT_CODE = "DEMO-NIGHTSHIFT";
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
}

export interface SeedResult {
  /** The demo regions and their time zones (a headless fleet drives by their clocks). */
  regions: { id: string; timeZone: string }[];
  /** apiKey is the plaintext key when the tenant was created now, else null. */
  tenants: { id: string; apiKey: string | null }[];
  operator: { email: string; password: string | null; created: boolean };
  enrollmentCode: string;
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

  return db.transaction(async (tx) => {
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
    const now = new Date();
    for (const t of DEFAULT_SCENARIO.tenants) {
      const [created] = await tx
        .insert(tenants)
        .values(t)
        .onConflictDoNothing()
        .returning({ id: tenants.id });
      tenantsOut.push({ id: t.id, apiKey: created ? (await addKey(tx, t.id, now)).key : null });
    }

    let operatorCreated = false;
    if (passwordHash !== null) {
      const [op] = await tx
        .insert(operators)
        .values({ email, name: opts.operatorName ?? "Demo operator", passwordHash })
        .onConflictDoNothing()
        .returning({ id: operators.id });
      operatorCreated = op !== undefined;
    }

    await tx
      .insert(enrollmentCodes)
      .values({ codeHash: sha256Hex(DEMO_ENROLLMENT_CODE), usesLeft: 2 ** 31 - 1 })
      .onConflictDoNothing();
    await registerModels(tx);

    return {
      regions: DEFAULT_SCENARIO.regions.map((r) => ({ id: r.id, timeZone: r.timeZone })),
      tenants: tenantsOut,
      operator: { email, password: operatorCreated ? password : null, created: operatorCreated },
      enrollmentCode: DEMO_ENROLLMENT_CODE,
      models: MODELS.map((m) => m.id),
    };
  });
}
