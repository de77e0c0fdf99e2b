// Who may call what: every role against a representative procedure of each router over HTTP,
// and every procedure of the router against every wrong role in process. A refused call writes
// nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContextFactory } from "../src/context";
import { appRouter } from "../src/router";
import { createCallerFactory } from "../src/trpc";
import {
  type Client,
  failure,
  type Harness,
  tinyInput,
  PARKED,
  setup,
  testDatabase,
} from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

type Role = "anonymous" | "car" | "tenant" | "otherTenant" | "operator";
const ROLES: Role[] = ["anonymous", "car", "tenant", "otherTenant", "operator"];

interface World {
  h: Harness;
  clients: Record<Role, Client>;
  tokens: Record<Role, string | undefined>;
  jobId: string;
  leaseId: string;
}

async function world(): Promise<World> {
  const h = await setup(database.get());
  const car = await h.enrollCar();
  const { jobId } = await h.tenant("acme-vision").tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: [tinyInput([1, 2, 3, 4])],
    replication: 1,
  });
  const leaseId = (await car.client.node.lease.mutate({})).tasks[0]!.leaseId;
  const tokens: Record<Role, string | undefined> = {
    anonymous: undefined,
    car: car.credential,
    tenant: h.tenantKeys["acme-vision"],
    otherTenant: h.tenantKeys["mapworks"],
    operator: h.operatorToken,
  };
  const clients = Object.fromEntries(ROLES.map((r) => [r, h.api.client(tokens[r])])) as Record<
    Role,
    Client
  >;
  return { h, clients, tokens, jobId, leaseId };
}

type Expect = "ok" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND";

/** A representative procedure of each router, and what each role gets from it. */
const MATRIX: {
  name: string;
  call: (c: Client, w: World) => Promise<unknown>;
  expect: Record<Role, Expect>;
}[] = [
  {
    name: "node.heartbeat",
    call: (c) => c.node.heartbeat.mutate(PARKED),
    expect: {
      anonymous: "UNAUTHORIZED",
      car: "ok",
      tenant: "FORBIDDEN",
      otherTenant: "FORBIDDEN",
      operator: "FORBIDDEN",
    },
  },
  {
    name: "node.renew",
    call: (c, w) => c.node.renew.mutate({ leaseIds: [w.leaseId] }),
    expect: {
      anonymous: "UNAUTHORIZED",
      car: "ok",
      tenant: "FORBIDDEN",
      otherTenant: "FORBIDDEN",
      operator: "FORBIDDEN",
    },
  },
  {
    name: "tenant.jobs.get",
    call: (c, w) => c.tenant.jobs.get.query({ jobId: w.jobId }),
    expect: {
      anonymous: "UNAUTHORIZED",
      car: "FORBIDDEN",
      tenant: "ok",
      otherTenant: "NOT_FOUND",
      operator: "FORBIDDEN",
    },
  },
  {
    name: "tenant.jobs.cancel",
    call: (c, w) => c.tenant.jobs.cancel.mutate({ jobId: w.jobId }),
    expect: {
      anonymous: "UNAUTHORIZED",
      car: "FORBIDDEN",
      tenant: "ok",
      otherTenant: "NOT_FOUND",
      operator: "FORBIDDEN",
    },
  },
  {
    name: "operator.fleet.summary",
    call: (c) => c.operator.fleet.summary.query(),
    expect: {
      anonymous: "UNAUTHORIZED",
      car: "FORBIDDEN",
      tenant: "FORBIDDEN",
      otherTenant: "FORBIDDEN",
      operator: "ok",
    },
  },
  {
    name: "operator.tenants.update",
    call: (c) => c.operator.tenants.update.mutate({ id: "lab-batch", weight: 3 }),
    expect: {
      anonymous: "UNAUTHORIZED",
      car: "FORBIDDEN",
      tenant: "FORBIDDEN",
      otherTenant: "FORBIDDEN",
      operator: "ok",
    },
  },
];

describe("authorization over HTTP", () => {
  for (const row of MATRIX) {
    it(`${row.name}: ${ROLES.map((r) => `${r} → ${row.expect[r]}`).join(", ")}`, async () => {
      // Wrong roles first, on a fresh world: a refusal must change no row.
      const w = await world();
      const before = await w.h.counts();
      for (const role of ROLES.filter((r) => row.expect[r] !== "ok")) {
        const got = await failure(row.call(w.clients[role], w));
        expect({ role, code: got.code }).toEqual({ role, code: row.expect[role] });
      }
      expect(await w.h.counts()).toEqual(before);
      for (const role of ROLES.filter((r) => row.expect[r] === "ok"))
        await row.call(w.clients[role], w);
    });
  }

  it("a car submits only its own leases; a tenant sees only its own jobs in lists", async () => {
    const w = await world();
    const thief = await w.h.enrollCar();
    const before = await w.h.counts();
    const got = await failure(
      thief.client.node.submit.mutate({
        leaseId: w.leaseId,
        output: [1, 2, 3, 4],
        durationMs: 1,
        backend: "wasm",
      }),
    );
    expect(got).toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("leaseId") });
    expect((await thief.client.node.renew.mutate({ leaseIds: [w.leaseId] })).lost).toEqual([
      w.leaseId,
    ]);
    expect(await thief.client.node.release.mutate()).toEqual({ released: 0 });
    const failed = await failure(
      thief.client.node.fail.mutate({ leaseId: w.leaseId, reason: "runtime", message: "no" }),
    );
    expect(failed).toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("leaseId"),
    });
    expect(await w.h.counts()).toEqual(before);
    expect((await w.clients.otherTenant.tenant.jobs.list.query({})).items).toEqual([]);
    expect(
      (await w.clients.otherTenant.tenant.jobs.list.query({ tenantId: "acme-vision" })).items,
    ).toEqual([]);
    expect((await w.clients.tenant.tenant.jobs.list.query({})).items.map((j) => j.id)).toEqual([
      w.jobId,
    ]);
  });

  it("an unknown or revoked credential is anonymous", async () => {
    const w = await world();
    const forged = w.h.api.client("nsc_" + "A".repeat(43));
    expect((await failure(forged.node.heartbeat.mutate(PARKED))).code).toBe("UNAUTHORIZED");
    expect(await forged.whoami.query()).toEqual({ kind: "anonymous", id: null });
    const key = await w.clients.operator.operator.tenants.createKey.mutate({
      tenantId: "mapworks",
    });
    const fresh = w.h.api.client(key.key);
    expect(await fresh.whoami.query()).toEqual({ kind: "tenant", id: "mapworks" });
    await w.clients.operator.operator.tenants.revokeKey.mutate({ keyId: key.keyId });
    expect((await failure(fresh.tenant.jobs.list.query({}))).code).toBe("UNAUTHORIZED");
    // A revoked car: anonymous at once, its lease back in the queue, the revocation audited.
    const car = w.clients.car;
    expect(await car.whoami.query()).toMatchObject({ kind: "car" });
    const carId = (await car.node.me.query()).carId;
    expect(
      await w.clients.operator.operator.cars.revoke.mutate({ carId, reason: "stolen" }),
    ).toEqual({ revoked: true, leasesEnded: 1 });
    expect(await w.clients.operator.operator.cars.revoke.mutate({ carId })).toEqual({
      revoked: false,
      leasesEnded: 0,
    });
    expect((await failure(car.node.heartbeat.mutate(PARKED))).code).toBe("UNAUTHORIZED");
    const thief = await w.h.enrollCar();
    expect((await thief.client.node.lease.mutate({})).tasks).toHaveLength(1);
    const audit = await w.clients.operator.operator.audit.list.query({});
    expect(audit.items.map((e) => e.action)).toContain("cars.revoke");
    await w.clients.operator.operator.auth.signOut.mutate();
    expect((await failure(w.clients.operator.operator.fleet.summary.query())).code).toBe(
      "UNAUTHORIZED",
    );
  });

  it("limits calls per credential: TOO_MANY_REQUESTS past the bucket, other credentials unaffected", async () => {
    const h = await setup(database.get(), {
      rateLimits: {
        ...(await import("../src/config")).DEFAULT_API_CONFIG.rateLimits,
        // A bucket that never refills: the fourth call is refused however long the three took.
        car: { burst: 3, perSecond: 0 },
      },
    });
    const a = await h.enrollCar({ heartbeat: false });
    const b = await h.enrollCar({ heartbeat: false });
    for (let i = 0; i < 3; i++) await a.park();
    expect((await failure(a.park())).code).toBe("TOO_MANY_REQUESTS");
    await b.park();
  });

  it("limits enrollments per client address whatever credential the call carries", async () => {
    const h = await setup(database.get(), {
      rateLimits: {
        ...(await import("../src/config")).DEFAULT_API_CONFIG.rateLimits,
        // Never refills: the setup's sign-in and one enrollment spend the address's bucket.
        anonymous: { burst: 2, perSecond: 0 },
      },
    });
    const car = await h.enrollCar({ heartbeat: false });
    const enroll = (client: Client) => client.node.enroll.mutate({ code: h.seed.enrollmentCode });
    expect((await failure(enroll(h.anonymous))).code).toBe("TOO_MANY_REQUESTS");
    // A car's, a tenant's or an operator's credential is no licence to make more cars.
    for (const client of [car.client, h.tenant(), h.operator]) {
      expect((await failure(enroll(client))).code).toBe("TOO_MANY_REQUESTS");
    }
    expect((await h.counts()).cars).toBe(1);
    // Their own calls still go through: the address's bucket is the enrollments', not theirs.
    await car.park();
    await h.tenant().tenant.jobs.list.query({});
  });
});

describe("every procedure refuses every wrong role", () => {
  it("checks the whole router", async () => {
    const w = await world();
    const procedures = Object.keys(
      (appRouter._def as unknown as { procedures: Record<string, unknown> }).procedures,
    );
    expect(procedures.length).toBeGreaterThan(30);
    const needs = (path: string): Role | "public" =>
      ["node.clock", "node.enroll", "operator.auth.signIn", "whoami"].includes(path)
        ? "public"
        : path.startsWith("node.")
          ? "car"
          : path.startsWith("tenant.")
            ? "tenant"
            : "operator";
    const contextOf = createContextFactory(w.h.api.deps);
    const before = await w.h.counts();
    let checked = 0;
    for (const role of ROLES) {
      const ctx = await contextOf({
        headers: w.tokens[role] ? { authorization: `Bearer ${w.tokens[role]}` } : {},
        ip: "10.0.0.1",
      });
      const caller = createCallerFactory(appRouter)(ctx) as unknown as Record<string, unknown>;
      for (const path of procedures) {
        const need = needs(path);
        if (need === "public") continue;
        const kind = role === "otherTenant" ? "tenant" : role;
        if (kind === need) continue;
        const fn = path
          .split(".")
          .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (
          i: unknown,
        ) => Promise<unknown>;
        const code = await fn({}).then(
          () => "ok",
          (e: { code?: string }) => e.code,
        );
        expect({ path, role, code }).toEqual({
          path,
          role,
          code: role === "anonymous" ? "UNAUTHORIZED" : "FORBIDDEN",
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(await w.h.counts()).toEqual(before);
  });
});
