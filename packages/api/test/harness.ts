// One API over real HTTP on a real PostgreSQL, as a test sees it: a server on port 0 (the
// standalone adapter), clients per credential, a clock that moves only when read or told, and
// helpers to enroll cars and count rows.
import { DEFAULT_VERIFICATION } from "@nightshift/core/verify";
import type { AddressInfo } from "node:net";
import { createDb, createPool, type Db } from "@nightshift/db/client";
import { resetDatabase, startTestDatabase, type TestDatabase } from "@nightshift/db/testing";
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { sql } from "drizzle-orm";
import { apiConfig, type ApiConfig } from "../src/config";
import { type ApiDeps, createContextFactory } from "../src/context";
import { hashPassword } from "../src/crypto";
import { type AppRouter, appRouter } from "../src/router";
import { seedDemo, type SeedResult } from "../src/seed";
import { HANG_MS } from "@nightshift/testkit/waits";

export type Client = ReturnType<typeof createTRPCClient<AppRouter>>;

export const OPERATOR_PASSWORD = "correct horse battery staple";
/** A cheap scrypt hash of it: production's cost would spend ~1.4 s per test on two hashes. */
const operatorHash = hashPassword(OPERATOR_PASSWORD, { N: 2 ** 10, r: 8, p: 1 });

/**
 * How long a test waits for something that makes no progress before it fails: a hang guard, not
 * a time budget (vitest's timeouts, longer still, are the last one).
 */
export const STALL_MS = HANG_MS;

/** Noon UTC on the day after today's (by the wall clock): where every TestClock starts. */
export function testClockStartMs(): number {
  const day = new Date();
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1, 12);
}

/**
 * The API's clock in tests (every lease expiry, heartbeat age, tariff hour and stamp is read
 * against it). It starts at noon UTC on the day after today's: the same hour of day in every run,
 * so tariffs, owners' allowed hours and regions' local time never depend on when the tests run;
 * and later than anything stamped by the wall clock (the seed's rows, PostgreSQL's defaults).
 * It moves 1 ms each time it is read, so that stamps keep the order of the calls that made them,
 * and otherwise only when a test advances it: a car's heartbeat never ages past the timeout, nor
 * a lease past its lifetime, because the machine was slow.
 */
export class TestClock {
  private ms = testClockStartMs();
  now = (): Date => new Date((this.ms += 1));
  advance(s: number): void {
    this.ms += s * 1000;
  }
  /** Puts the clock at `ms` (epoch ms): a test that needs a date (summer time, winter time). */
  set(ms: number): void {
    this.ms = ms;
  }
}

export interface Instance {
  deps: ApiDeps;
  url: string;
  client(token?: string, opts?: { batch?: boolean }): Client;
  close(): Promise<void>;
}

/** A server instance: its own pool, caches and rate limiter, like a separate process. */
export async function startInstance(
  db: Db,
  clock: TestClock,
  config: ApiConfig,
): Promise<Instance> {
  const deps: ApiDeps = { db, now: clock.now, config };
  const createContext = createContextFactory(deps);
  const server = createHTTPServer({
    router: appRouter,
    maxBodySize: config.maxBodyBytes,
    // A 500 reaches the client as "internal error" only: the cause is printed here.
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        console.error(`${path ?? "?"}:`, error.cause ?? error);
    },
    createContext: ({ req }) =>
      createContext({ headers: req.headers, ip: req.socket.remoteAddress ?? undefined }),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    deps,
    url,
    client(token, opts) {
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      const link = opts?.batch
        ? httpBatchLink({ url, headers, maxItems: 16 })
        : httpLink({ url, headers });
      return createTRPCClient<AppRouter>({ links: [link] });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface Harness {
  t: TestDatabase;
  clock: TestClock;
  api: Instance;
  /** The seed of a fresh database: its fleet's code (vouched owners, one per car) was made now. */
  seed: SeedResult & { enrollmentCode: string };
  anonymous: Client;
  operator: Client;
  operatorToken: string;
  /** The seeded tenants' keys, by tenant id. */
  tenantKeys: Record<string, string>;
  tenant(id?: string): Client;
  enrollCar(opts?: EnrollOptions): Promise<TestCar>;
  counts(): Promise<Record<string, number>>;
}

export interface EnrollOptions {
  code?: string;
  regionId?: string;
  hardwareId?: string;
  /** Heartbeat (parked, plugged in) right away; default true. */
  heartbeat?: boolean;
  instance?: Instance;
  batch?: boolean;
}

export interface TestCar {
  carId: string;
  ownerId: string;
  credential: string;
  client: Client;
  park(): ReturnType<Client["node"]["heartbeat"]["mutate"]>;
}

export const PARKED = {
  state: "parked",
  socPct: 80,
  pluggedIn: true,
  chargerKW: 7.4,
  predictedDepartureAt: null,
  batteryTempC: 20,
} as const;

/** A database for a test file; `setup` empties it and starts a fresh, seeded API per test. */
export function testDatabase(): {
  get: () => TestDatabase;
  start: () => Promise<void>;
  stop: () => Promise<void>;
} {
  let t: TestDatabase | undefined;
  return {
    get: () => t as TestDatabase,
    start: async () => {
      t = await startTestDatabase();
    },
    stop: async () => {
      await t?.stop();
    },
  };
}

export async function setup(t: TestDatabase, overrides: Partial<ApiConfig> = {}): Promise<Harness> {
  await resetDatabase(t.pool);
  const clock = new TestClock();
  // No canaries unless a test asks: they add leases that tests counting exact totals would see.
  const config = apiConfig({
    verification: { ...DEFAULT_VERIFICATION, canaryRate: 0 },
    ...overrides,
  });
  const seeded = await seedDemo(t.db, {
    operatorPassword: OPERATOR_PASSWORD,
    operatorPasswordHash: await operatorHash,
  });
  const { enrollmentCode } = seeded;
  if (enrollmentCode === null) throw new Error("the seed of an empty database made no fleet code");
  const seed = { ...seeded, enrollmentCode };
  const api = await startInstance(t.db, clock, config);
  const anonymous = api.client();
  const { token } = await anonymous.operator.auth.signIn.mutate({
    email: seed.operator.email,
    password: OPERATOR_PASSWORD,
  });
  const tenantKeys = Object.fromEntries(seed.tenants.map((k) => [k.id, k.apiKey as string]));
  const h: Harness = {
    t,
    clock,
    api,
    seed,
    anonymous,
    operator: api.client(token),
    operatorToken: token,
    tenantKeys,
    tenant: (id = "acme-vision") => api.client(tenantKeys[id]),
    async enrollCar(opts = {}) {
      const instance = opts.instance ?? api;
      const out = await instance.client().node.enroll.mutate({
        code: opts.code ?? seed.enrollmentCode,
        ...(opts.regionId ? { regionId: opts.regionId } : {}),
        ...(opts.hardwareId ? { hardwareId: opts.hardwareId } : {}),
      });
      const client = instance.client(out.credential, { batch: opts.batch });
      const car: TestCar = { ...out, client, park: () => client.node.heartbeat.mutate(PARKED) };
      if (opts.heartbeat !== false) await car.park();
      return car;
    },
    counts: () => countRows(t.db),
  };
  return h;
}

const TABLES = [
  "operators",
  "operator_sessions",
  "tenants",
  "tenant_keys",
  "owners",
  "enrollment_codes",
  "regions",
  "cars",
  "models",
  "input_blobs",
  "tenant_input_blobs",
  "jobs",
  "tasks",
  "work_units",
  "leases",
  "results",
  "verifications",
  "ledger_entries",
  "audit_events",
] as const;

export async function countRows(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await db.execute(sql.raw(`SELECT count(*)::int AS n FROM ${table}`));
    out[table] = (rows[0] as { n: number }).n;
  }
  return out;
}

/** Another pool on the same database: a second server process's connections. */
export function secondDb(t: TestDatabase): { db: Db; end: () => Promise<void> } {
  const pool = createPool(t.url);
  return { db: createDb(pool), end: () => pool.end() };
}

export { tinyInput } from "../src/seed";

/** The error a call fails with: its tRPC code, message and zod issues. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: string; message: string; issues: { path: string; message: string }[] | null }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TRPCClientError) {
      const data = error.data as {
        code: string;
        issues?: { path: string; message: string }[] | null;
      };
      return { code: data.code, message: error.message, issues: data.issues ?? null };
    }
    throw error;
  }
  throw new Error("expected the call to fail");
}
