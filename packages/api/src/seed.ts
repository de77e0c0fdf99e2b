// The demo world, written once and safe to run again: core's default regions and tenants (one
// API key each), an operator, the demo enrollment code and the tiny test model. Secrets are
// returned only when they are created: nobody can read them back later.
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import { TOLERANCE_CPU } from "@nightshift/core/verify";
import type { Db } from "@nightshift/db/client";
import { enrollmentCodes, models, operators, regions, tenants } from "@nightshift/db/schema";
import { eq } from "drizzle-orm";
import { hashPassword, newPassword, sha256Hex } from "./crypto";
import { addKey } from "./services/tenants";

/** The code any car may enroll with in the demo, as many times as it likes. */
export const DEMO_ENROLLMENT_CODE = "DEMO-NIGHTSHIFT";
export const DEMO_OPERATOR_EMAIL = "operator@nightshift.local";

/**
 * The test model: y = x · W, x of shape [1, 4], W a fixed 4 × 4 matrix. Until the models package
 * ships a real ONNX file, its sha256 is that of the JSON of W (a stand-in, not a file hash).
 */
export const TINY_MATMUL = {
  id: "tiny-matmul",
  version: "1",
  weights: [
    [1, 0.5, 0, -1],
    [0, 1, 0.25, 2],
    [-0.5, 0, 1, 0],
    [2, -1, 0, 1],
  ],
} as const;

/** What tiny-matmul computes, for agents and tests: x (4 values) → y (4 values). */
export function runTinyMatmul(x: readonly number[]): number[] {
  return [0, 1, 2, 3].map((j) =>
    x.reduce((sum, xi, i) => sum + xi * (TINY_MATMUL.weights[i]?.[j] ?? 0), 0),
  );
}

const TINY_MATMUL_ROW = {
  id: TINY_MATMUL.id,
  version: TINY_MATMUL.version,
  sha256: sha256Hex(JSON.stringify(TINY_MATMUL.weights)),
  sizeBytes: 64,
  memoryGB: 0.001,
  // 2 × 4 × 4 multiply-adds; the scheduler treats it as one short inference.
  teraOpsPerInference: 32e-12,
  inputSpec: { x: { dims: [1, 4], type: "float32" } },
  outputSpec: { name: "y", dims: [1, 4], type: "float32" },
  tolerance: TOLERANCE_CPU,
};

export interface SeedOptions {
  operatorEmail?: string;
  /** Generated when absent (and returned, on first creation only). */
  operatorPassword?: string;
  operatorName?: string;
  /** A precomputed hash of operatorPassword (tests: a cheap one); computed when absent. */
  operatorPasswordHash?: string;
}

export interface SeedResult {
  regions: string[];
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
          utcOffsetH: r.utcOffsetH,
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
    await tx.insert(models).values(TINY_MATMUL_ROW).onConflictDoNothing();

    return {
      regions: DEFAULT_SCENARIO.regions.map((r) => r.id),
      tenants: tenantsOut,
      operator: { email, password: operatorCreated ? password : null, created: operatorCreated },
      enrollmentCode: DEMO_ENROLLMENT_CODE,
      models: [TINY_MATMUL.id],
    };
  });
}
