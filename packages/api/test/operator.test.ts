// The operator's console over HTTP: the fleet, cars, controls (quarantine, drain, pause), tenants,
// enrollment codes, the ledger and the audit trail.
import { leases } from "@nightshift/db/schema";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContextFactory } from "../src/context";
import { appRouter } from "../src/router";
import { runTiny } from "../src/seed";
import { ALL_REGIONS, recordFleetSample } from "../src/services/history";
import { stateOf } from "../src/state";
import { createCallerFactory } from "../src/trpc";
import { failure, tinyInput, PARKED, setup, type TestCar, testDatabase } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

const job = (inputs = 1, replication: number | "auto" = 1) => ({
  modelId: "tiny-mlp",
  inputs: Array.from({ length: inputs }, (_, i) => tinyInput([i, 1, 2, 3])),
  replication,
});

describe("operator", () => {
  it("summarises the fleet and pages, sorts and filters cars", async () => {
    const h = await setup(database.get());
    const cars: TestCar[] = [];
    for (const [i, regionId] of [
      "us-west",
      "us-west",
      "eu-north",
      "us-central",
      "eu-north",
    ].entries()) {
      const car = await h.enrollCar({ regionId, heartbeat: false });
      await car.client.node.heartbeat.mutate({
        ...PARKED,
        socPct: 50 + i * 10,
        state: i === 4 ? "driving" : "parked",
      });
      cars.push(car);
    }
    await h.tenant().tenant.jobs.submit.mutate(job(3));
    await cars[0]!.client.node.lease.mutate({ max: 1 });

    const s = await h.operator.operator.fleet.summary.query();
    expect(s.cars).toMatchObject({
      total: 5,
      online: 5,
      byState: { driving: 1, parked: 4, charging: 0 },
      quarantined: 0,
    });
    expect(s.eligible).toBe(4);
    expect(s.availableKW).toBeGreaterThan(0);
    expect(s).toMatchObject({ queueDepth: 2, activeLeases: 1, jobs: { queued: 0, running: 1 } });

    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.operator.operator.cars.list.query({
        sort: "socPct",
        order: "desc",
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((c) => c.socPct));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([90, 80, 70, 60, 50]);
    // Every sort's cursors, as the list hands them out, pass the cursor's checks and page
    // through every car once.
    for (const sort of ["enrolledAt", "lastHeartbeatAt", "socPct", "name"] as const) {
      for (const order of ["asc", "desc"] as const) {
        const ids: string[] = [];
        let next: string | undefined;
        do {
          const page = await h.operator.operator.cars.list.query({
            sort,
            order,
            limit: 2,
            ...(next ? { cursor: next } : {}),
          });
          ids.push(...page.items.map((c) => c.id));
          next = page.nextCursor ?? undefined;
        } while (next);
        expect({ sort, order, ids: [...ids].sort() }).toEqual({
          sort,
          order,
          ids: cars.map((c) => c.carId).sort(),
        });
      }
    }
    const north = await h.operator.operator.cars.list.query({
      regionId: "eu-north",
      state: "parked",
    });
    expect(north.items.map((c) => c.id)).toEqual([cars[2]!.carId]);
    // A table's rows, refreshed: in the order asked, unknown cars left out, the same rows as the
    // list's, and the newest state (the car that drove off is parked again).
    await cars[4]!.client.node.heartbeat.mutate({ ...PARKED, socPct: 42 });
    const unknown = "00000000-0000-4000-8000-000000000000";
    const fresh = await h.operator.operator.cars.rows.query({
      carIds: [cars[4]!.carId, unknown, cars[0]!.carId],
    });
    expect(fresh.items.map((c) => c.id)).toEqual([cars[4]!.carId, cars[0]!.carId]);
    expect(fresh.items[0]).toMatchObject({ state: "parked", socPct: 42 });
    const listed = await h.operator.operator.cars.list.query({ limit: 10 });
    expect(fresh.items[1]).toEqual(listed.items.find((c) => c.id === cars[0]!.carId));
    // Cars enrolled in the same second still get names of their own.
    expect(new Set(listed.items.map((c) => c.name)).size).toBe(cars.length);
    const detail = await h.operator.operator.cars.get.query({ carId: cars[0]!.carId });
    expect(detail).toMatchObject({ activeLeases: 1, rejection: null, online: true });
    expect(detail.leases).toHaveLength(1);
    // Jobs page by their own cursors too, newest first, each job once.
    await h.tenant().tenant.jobs.submit.mutate(job(1));
    await h.tenant().tenant.jobs.submit.mutate(job(1));
    const jobIds: string[] = [];
    let jobCursor: string | undefined;
    do {
      const page = await h.tenant().tenant.jobs.list.query({
        limit: 1,
        ...(jobCursor ? { cursor: jobCursor } : {}),
      });
      jobIds.push(...page.items.map((j) => j.id));
      jobCursor = page.nextCursor ?? undefined;
    } while (jobCursor);
    const all = await h.tenant().tenant.jobs.list.query({ limit: 10 });
    expect(jobIds).toEqual(all.items.map((j) => j.id));
    expect(jobIds).toHaveLength(3);
  });

  it("counts why cars may take no work, under the reason the lease call gives each", async () => {
    const h = await setup(database.get());
    const inMinutes = (m: number) => new Date(h.clock.now().getTime() + m * 60_000).toISOString();
    // One car for each reason, and two for one of them; each reports in as the test says.
    const cases: [string, (car: TestCar) => Promise<unknown>][] = [
      ["eligible", (c) => c.park()],
      ["eligible", (c) => c.park()],
      ["driving", (c) => c.client.node.heartbeat.mutate({ ...PARKED, state: "driving" })],
      ["driving", (c) => c.client.node.heartbeat.mutate({ ...PARKED, state: "driving" })],
      ["battery-hot", (c) => c.client.node.heartbeat.mutate({ ...PARKED, batteryTempC: 45 })],
      [
        "departs-too-soon",
        (c) => c.client.node.heartbeat.mutate({ ...PARKED, predictedDepartureAt: inMinutes(5) }),
      ],
      // Unplugged at the owner's minimum charge for a departure: nothing to spare.
      [
        "low-energy",
        (c) => c.client.node.heartbeat.mutate({ ...PARKED, pluggedIn: false, socPct: 50 }),
      ],
      [
        "opted-out",
        async (c) => {
          await c.client.node.setPolicy.mutate({
            optedIn: false,
            allowedHours: { startHour: 0, endHour: 24 },
            minDepartureChargePct: 50,
            reservePct: 20,
          });
          await c.park();
        },
      ],
      [
        "quarantined",
        async (c) => {
          await c.park();
          await h.operator.operator.cars.quarantine.mutate({ carId: c.carId });
        },
      ],
      // Enrolled and never heard from.
      ["no-heartbeat", async () => undefined],
    ];
    const cars: { car: TestCar; expected: string }[] = [];
    for (const [expected, report] of cases) {
      const car = await h.enrollCar({ regionId: "us-west", heartbeat: false });
      await report(car);
      cars.push({ car, expected });
    }
    // A drained region's car, parked and cool: the server's own reason, before core's filters.
    const drained = await h.enrollCar({ regionId: "eu-north" });
    await h.operator.operator.regions.drain.mutate({ id: "eu-north" });
    cars.push({ car: drained, expected: "region-drained" });

    const s = await h.operator.operator.fleet.summary.query();
    expect(s.eligible).toBe(2);
    expect(s.refusals).toEqual([
      { reason: "driving", cars: 2 },
      { reason: "no-heartbeat", cars: 1 },
      { reason: "battery-hot", cars: 1 },
      { reason: "region-drained", cars: 1 },
      { reason: "quarantined", cars: 1 },
      { reason: "opted-out", cars: 1 },
      { reason: "departs-too-soon", cars: 1 },
      { reason: "low-energy", cars: 1 },
    ]);
    // Every enrolled car is either eligible or counted once under a reason.
    expect(s.eligible + s.refusals.reduce((n, r) => n + r.cars, 0)).toBe(s.cars.total);
    expect(s.cars).toMatchObject({ total: cars.length, online: cars.length - 1 });
    // The hot car is not counted as eligible (the lease call never gave it work).
    expect(s.byRegion.find((r) => r.regionId === "us-west")?.eligible).toBe(2);

    // The reason each car is counted under is the one its lease call and its page give.
    await h.tenant().tenant.jobs.submit.mutate(job(20));
    for (const { car, expected } of cars) {
      const detail = await h.operator.operator.cars.get.query({ carId: car.carId });
      const leased = await car.client.node.lease.mutate({ max: 1 });
      if (expected === "eligible") {
        expect(detail.rejection).toBeNull();
        expect(leased.tasks).toHaveLength(1);
      } else {
        expect(detail.rejection, car.carId).toBe(expected);
        expect(leased, expected).toMatchObject({ tasks: [], reason: expected });
      }
    }

    // Time passes without a heartbeat: every car is offline, and counted so.
    h.clock.advance(h.api.deps.config.heartbeatTimeoutS + 1);
    const later = await h.operator.operator.fleet.summary.query();
    expect(later).toMatchObject({
      eligible: 0,
      refusals: [{ reason: "no-heartbeat", cars: cars.length }],
      cars: { online: 0 },
    });
  });

  it("quarantines a car: its leases end, it is told to stop and gets no work until released", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar();
    await h.tenant().tenant.jobs.submit.mutate(job(2));
    const [t1] = (await car.client.node.lease.mutate({ max: 1 })).tasks;
    expect(
      await h.operator.operator.cars.quarantine.mutate({ carId: car.carId, reason: "test" }),
    ).toEqual({ quarantined: true, leasesEnded: 1 });
    const [ended] = await h.t.db.select().from(leases).where(eq(leases.id, t1!.leaseId));
    expect(ended).toMatchObject({ status: "cancelled", endReason: "quarantined" });
    expect((await car.park()).directives).toEqual(["stop"]);
    expect(await car.client.node.lease.mutate({})).toMatchObject({
      tasks: [],
      reason: "quarantined",
    });
    await h.operator.operator.cars.release.mutate({ carId: car.carId });
    expect((await car.park()).directives).toEqual([]);
    expect((await car.client.node.lease.mutate({})).tasks).toHaveLength(1);
  });

  it("drains a region and pauses a tenant", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar({ regionId: "eu-north" });
    await h.tenant("acme-vision").tenant.jobs.submit.mutate(job(1));
    await h.operator.operator.regions.drain.mutate({ id: "eu-north" });
    expect((await car.park()).directives).toEqual(["drain"]);
    expect(await car.client.node.lease.mutate({})).toMatchObject({
      tasks: [],
      reason: "region-drained",
    });
    await h.operator.operator.regions.undrain.mutate({ id: "eu-north" });

    await h.operator.operator.tenants.update.mutate({ id: "acme-vision", paused: true });
    expect((await car.client.node.lease.mutate({})).tasks).toEqual([]);
    await h.tenant("mapworks").tenant.jobs.submit.mutate(job(1));
    const other = (await car.client.node.lease.mutate({ max: 4 })).tasks;
    expect(other).toHaveLength(1);
    await h.operator.operator.tenants.update.mutate({ id: "acme-vision", paused: false });
    expect((await car.client.node.lease.mutate({})).tasks).toHaveLength(1);
  });

  it("edits tariffs validated by core", async () => {
    const h = await setup(database.get());
    const tariff = [
      { start: 22, end: 6, priceUsdPerKWh: 0.1 },
      { start: 6, end: 22, priceUsdPerKWh: 0.3 },
    ];
    const updated = await h.operator.operator.regions.update.mutate({ id: "eu-north", tariff });
    expect(updated.tariff).toEqual(tariff);
    const overlap = await failure(
      h.operator.operator.regions.update.mutate({
        id: "eu-north",
        tariff: [...tariff, { start: 5, end: 7, priceUsdPerKWh: 1 }],
      }),
    );
    expect(overlap).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^tariff: rates overlap/),
    });
    expect(
      (await h.operator.operator.regions.list.query()).find((r) => r.id === "eu-north")!.tariff,
    ).toEqual(tariff);
  });

  it("creates a region, validated as an edit is and audited; cars enroll in it", async () => {
    const h = await setup(database.get());
    const region = {
      id: "eu-west",
      name: "EU West",
      timeZone: "europe/dublin",
      tariff: [
        { start: 0, end: 7, priceUsdPerKWh: 0.12 },
        { start: 7, end: 24, priceUsdPerKWh: 0.31 },
      ],
      carbonGPerKWh: Array.from({ length: 24 }, (_, hour) => 200 + hour),
    };
    const before = await h.counts();
    const gap = await failure(
      h.operator.operator.regions.create.mutate({ ...region, tariff: region.tariff.slice(1) }),
    );
    expect(gap).toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^tariff: /) });
    expect(await h.counts()).toEqual(before);

    const created = await h.operator.operator.regions.create.mutate(region);
    expect(created).toMatchObject({ id: "eu-west", timeZone: "Europe/Dublin", drained: false });
    expect((await h.operator.operator.regions.list.query()).map((r) => r.id)).toContain("eu-west");
    expect((await failure(h.operator.operator.regions.create.mutate(region))).code).toBe(
      "CONFLICT",
    );
    const events = await h.operator.operator.audit.list.query({ action: "regions.create" });
    expect(events.items.map((e) => e.subjectId)).toEqual(["eu-west"]);
    const car = await h.enrollCar({ regionId: "eu-west" });
    expect((await car.client.node.me.query()).regionId).toBe("eu-west");
  });

  it("puts a region in an IANA time zone, shows its offset now, and refuses the old offset field", async () => {
    const h = await setup(database.get());
    const listed = await h.operator.operator.regions.list.query();
    expect(listed.map((r) => [r.id, r.timeZone])).toEqual([
      ["eu-north", "Europe/Stockholm"],
      ["us-central", "America/Chicago"],
      ["us-west", "America/Los_Angeles"],
    ]);
    // The retired column (kept for the previous release's servers) is not part of the view.
    expect(listed[0]).not.toHaveProperty("utcOffsetH");
    // Its offset at the time of the call: summer or winter time.
    h.clock.set(Date.parse("2025-07-01T12:00:00Z"));
    const summer = await h.operator.operator.regions.list.query();
    expect(summer.find((r) => r.id === "us-west")!.utcOffsetS).toBe(-7 * 3600);
    h.clock.set(Date.parse("2025-12-01T12:00:00Z"));
    const winter = await h.operator.operator.regions.list.query();
    expect(winter.find((r) => r.id === "us-west")!.utcOffsetS).toBe(-8 * 3600);

    // A name differing only in case is stored as the zone database spells it.
    const moved = await h.operator.operator.regions.update.mutate({
      id: "eu-north",
      timeZone: "europe/helsinki",
    });
    expect(moved).toMatchObject({ timeZone: "Europe/Helsinki", utcOffsetS: 2 * 3600 });
    const bad = await failure(
      h.operator.operator.regions.update.mutate({ id: "eu-north", timeZone: "Europe/Nowhere" }),
    );
    expect(bad).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^timeZone: unknown time zone "Europe\/Nowhere"/),
    });
    const retired = await failure(
      h.operator.operator.regions.update.mutate({
        id: "eu-north",
        utcOffsetH: 2,
      } as unknown as { id: string }),
    );
    expect(retired).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^utcOffsetH: replaced by timeZone/),
    });
    expect(
      (await h.operator.operator.regions.list.query()).find((r) => r.id === "eu-north")!.timeZone,
    ).toBe("Europe/Helsinki");
  });

  it("reads owners' hours on the region's clocks, summer and winter", async () => {
    const h = await setup(database.get());
    // An owner in US West who lends the car from 22:00 to 06:00.
    const out = await h.anonymous.node.enroll.mutate({
      code: h.seed.enrollmentCode,
      regionId: "us-west",
      policy: {
        optedIn: true,
        allowedHours: { startHour: 22, endHour: 6 },
        minDepartureChargePct: 50,
        reservePct: 20,
      },
    });
    const car = h.api.client(out.credential);
    const reasonAt = async (iso: string) => {
      h.clock.set(Date.parse(iso));
      await car.node.heartbeat.mutate(PARKED);
      return (await car.node.lease.mutate({})).reason;
    };
    // 05:30 UTC: 22:30 on PDT in July (inside), 21:30 on PST in January (outside).
    expect(await reasonAt("2025-07-01T05:30:00Z")).toBe("no-work");
    expect(await reasonAt("2025-01-15T05:30:00Z")).toBe("outside-allowed-hours");
    // 13:30 UTC: 06:30 on PDT (outside), 05:30 on PST (inside).
    expect(await reasonAt("2025-07-01T13:30:00Z")).toBe("outside-allowed-hours");
    expect(await reasonAt("2025-01-15T13:30:00Z")).toBe("no-work");
  });

  it("creates a tenant whose key submits jobs; codes enroll cars to one owner, whose cars never share a task", async () => {
    const h = await setup(database.get());
    const { tenant, apiKey } = await h.operator.operator.tenants.create.mutate({
      id: "newco",
      name: "NewCo",
      quotaShare: 0.1,
    });
    expect(tenant).toMatchObject({ id: "newco", keys: 1, paused: false });
    expect(
      (await failure(h.operator.operator.tenants.create.mutate({ id: "newco", name: "again" })))
        .code,
    ).toBe("CONFLICT");
    const newco = h.api.client(apiKey.key);
    await newco.tenant.jobs.submit.mutate(job(1, 2));

    const { code, ownerId } = await h.operator.operator.enrollmentCodes.create.mutate({
      ownerName: "Fleet Co",
      uses: 2,
      regionId: "us-west",
    });
    const a = await h.enrollCar({ code });
    const b = await h.enrollCar({ code });
    expect([a.ownerId, b.ownerId]).toEqual([ownerId, ownerId]);
    expect((await failure(h.enrollCar({ code }))).code).toBe("FORBIDDEN"); // used up
    expect((await a.client.node.lease.mutate({})).tasks).toHaveLength(1);
    // The second replica exists, but one owner's cars count once: it waits for another owner.
    expect((await b.client.node.lease.mutate({})).tasks).toEqual([]);
    const c = await h.enrollCar();
    expect((await c.client.node.lease.mutate({})).tasks).toHaveLength(1);
  });

  it("lets a tenant cancel a job: leases end, late results are refused, nothing is paid", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar();
    const { jobId } = await h.tenant().tenant.jobs.submit.mutate(job(3));
    const [t] = (await car.client.node.lease.mutate({})).tasks;
    expect(await h.tenant().tenant.jobs.cancel.mutate({ jobId })).toEqual({ status: "cancelled" });
    expect(await h.tenant().tenant.jobs.cancel.mutate({ jobId })).toEqual({ status: "cancelled" });
    const late = await car.client.node.submit.mutate({
      leaseId: t!.leaseId,
      output: [0, 0, 0, 0],
      durationMs: 1,
      backend: "wasm",
    });
    expect(late).toMatchObject({ accepted: false, reason: "lease cancelled" });
    expect((await car.client.node.lease.mutate({})).tasks).toEqual([]);
    const listed = await h.operator.operator.jobs.list.query({ status: "cancelled" });
    expect(listed.items.map((j) => j.id)).toEqual([jobId]);
    // Cancelled once: one audit event, by the tenant.
    const events = await h.operator.operator.audit.list.query({ action: "jobs.cancel" });
    expect(events.items.map((e) => [e.actorKind, e.actorId, e.subjectId])).toEqual([
      ["tenant", "acme-vision", jobId],
    ]);
  });

  it("sums the ledger by region and tenant, and keeps an audit event for every mutation", async () => {
    const h = await setup(database.get());
    const car = await h.enrollCar({ regionId: "us-central" });
    await h.tenant("mapworks").tenant.jobs.submit.mutate(job(2));
    for (const t of (await car.client.node.lease.mutate({ max: 2 })).tasks) {
      h.clock.advance(1);
      await car.client.node.submit.mutate({
        leaseId: t.leaseId,
        output: runTiny((t.input as { x: { data: number[] } }).x.data),
        durationMs: 800,
        backend: "wasm",
      });
    }
    const byRegion = await h.operator.operator.ledger.summary.query({ by: "region" });
    expect(byRegion.rows.map((r) => [r.key, r.entries, r.validated])).toEqual([
      ["us-central", 2, 2],
    ]);
    expect(byRegion.total.energyKWh).toBeGreaterThan(0);
    expect(byRegion.total.payoutUsd).toBeCloseTo(byRegion.total.payoutOwedUsd, 15);
    const byTenant = await h.operator.operator.ledger.summary.query({ by: "tenant" });
    expect(byTenant.rows.map((r) => r.key)).toEqual(["mapworks"]);

    await h.operator.operator.regions.drain.mutate({ id: "us-west" });
    await h.operator.operator.tenants.update.mutate({ id: "lab-batch", paused: true });
    await h.operator.operator.cars.quarantine.mutate({ carId: car.carId });
    await h.operator.operator.tenants.createKey.mutate({ tenantId: "lab-batch" });
    const events = (await h.operator.operator.audit.list.query({})).items.map(
      (e) => `${e.action} ${e.subjectId}`,
    );
    expect(events.slice(0, 4)).toEqual([
      "tenants.createKey lab-batch",
      `cars.quarantine ${car.carId}`,
      "tenants.pause lab-batch",
      "regions.drain us-west",
    ]);
    // No secret in the trail.
    const all = JSON.stringify(await h.operator.operator.audit.list.query({ limit: 500 }));
    for (const key of Object.values(h.tenantKeys)) expect(all).not.toContain(key);
    expect(all).not.toContain(car.credential);
  });

  it("keeps the fleet's history a minute at a time, once across instances, region by region", async () => {
    const h = await setup(database.get());
    await h.enrollCar({ regionId: "us-west" });
    await h.enrollCar({ regionId: "eu-north" });
    const state = stateOf(h.api.deps);
    const wrote = await Promise.all([
      recordFleetSample(h.api.deps, state),
      recordFleetSample(h.api.deps, state),
    ]);
    expect(wrote.filter(Boolean)).toHaveLength(1);
    const { points } = await h.operator.operator.fleet.series.query({ hours: 24 });
    const all = points.find((p) => p.regionId === ALL_REGIONS)!;
    expect(all).toMatchObject({ online: 2, eligible: 2 });
    expect(all.availableKW).toBeGreaterThan(0);
    const west = points.find((p) => p.regionId === "us-west")!;
    expect(west).toMatchObject({ online: 1, eligible: 1 });
    expect(points.map((p) => p.regionId).sort()).toEqual(
      [ALL_REGIONS, ...h.seed.regions.map((r) => r.id)].sort(),
    );
    // A chart that holds the samples asks only for newer ones.
    const newest = points.at(-1)!.at;
    expect(
      (await h.operator.operator.fleet.series.query({ hours: 24, after: newest })).points,
    ).toEqual([]);
    const earlier = new Date(Date.parse(newest) - 1).toISOString();
    expect(
      (await h.operator.operator.fleet.series.query({ hours: 24, after: earlier })).points,
    ).toHaveLength(points.length);
    const bad = await failure(
      h.operator.operator.fleet.series.query({ hours: 24, after: "yesterday" }),
    );
    expect(bad).toMatchObject({ code: "BAD_REQUEST" });
    expect(bad.message).toContain("after");
    const summary = await h.operator.operator.fleet.summary.query();
    expect(summary.byRegion.reduce((n, r) => n + r.online, 0)).toBe(summary.cars.online);
    expect(summary.busyCars).toBe(0);
  });

  it("shows a car's changes of state and its work; a job's replicas and verdicts", async () => {
    const h = await setup(database.get());
    const [a, b] = [await h.enrollCar(), await h.enrollCar()];
    await a.client.node.heartbeat.mutate({ ...PARKED, state: "charging" });
    await a.client.node.heartbeat.mutate({ ...PARKED, state: "charging" }); // no change
    await a.client.node.heartbeat.mutate({ ...PARKED, pluggedIn: false, chargerKW: 0 });
    const history = await h.operator.operator.cars.history.query({ carId: a.carId });
    // Newest first; the first is enrollCar's heartbeat (plugged in, where enrollment had not said).
    expect(history.items.map((e) => [e.state, e.pluggedIn])).toEqual([
      ["parked", false],
      ["charging", true],
      ["parked", true],
    ]);
    await a.park();

    const { jobId } = await h.tenant().tenant.jobs.submit.mutate(job(1, 2));
    const onA = (await a.client.node.lease.mutate({})).tasks[0]!;
    const onB = (await b.client.node.lease.mutate({})).tasks[0]!;
    const x = (onA.input as { x: { data: number[] } }).x.data;
    for (const [car, lease] of [
      [a, onA],
      [b, onB],
    ] as const) {
      await car.client.node.submit.mutate({
        leaseId: lease.leaseId,
        output: runTiny(x),
        durationMs: 9,
        backend: "wasm",
      });
    }
    const work = await h.operator.operator.cars.tasks.query({ carId: a.carId });
    expect(work.items).toHaveLength(1);
    expect(work.items[0]).toMatchObject({
      leaseId: onA.leaseId,
      jobId,
      modelId: "tiny-mlp",
      status: "submitted",
      verdict: "valid",
      backend: "wasm",
      durationMs: 9,
    });
    expect(work.items[0]!.payoutUsd).toBeGreaterThan(0);
    const tasks = await h.operator.operator.jobs.tasks.query({ jobId });
    expect(tasks.items).toHaveLength(1);
    expect(tasks.items[0]).toMatchObject({
      status: "valid",
      replicasRequired: 2,
      verification: { status: "valid", support: 2, agreeing: 2, disagreeing: 0 },
    });
    expect(tasks.items[0]!.replicas.map((r) => [r.carId, r.verdict]).sort()).toEqual(
      [
        [a.carId, "valid"],
        [b.carId, "valid"],
      ].sort(),
    );
  });

  it("submits a job on a tenant's behalf, audited; lists the models", async () => {
    const h = await setup(database.get());
    const models = await h.operator.operator.models.list.query();
    expect(models.map((m) => [m.id, m.takes])).toEqual([
      ["ppocr-cls", "image"],
      ["ppocr-det", "image"],
      ["tiny-mlp", "tensor"],
    ]);
    expect(await h.tenant().tenant.models.list.query()).toEqual(models);
    const missing = await failure(
      h.operator.operator.jobs.submit.mutate({ tenantId: "nobody", ...job() }),
    );
    expect(missing).toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("tenantId"),
    });
    const { jobId } = await h.operator.operator.jobs.submit.mutate({
      tenantId: "mapworks",
      modelId: "ppocr-cls",
      inputs: [{ image: { demo: "line-open-road-0.png" } }],
    });
    expect(await h.operator.operator.jobs.get.query({ jobId })).toMatchObject({
      tenantId: "mapworks",
      modelId: "ppocr-cls",
    });
    const events = await h.operator.operator.audit.list.query({ subjectId: jobId });
    expect(events.items.map((e) => e.action)).toEqual(["jobs.submit"]);
  });

  it("streams the fleet summary until the subscriber leaves", async () => {
    const h = await setup(database.get());
    await h.enrollCar();
    const ctx = await createContextFactory(h.api.deps)({
      headers: { authorization: `Bearer ${h.operatorToken}` },
    });
    const stop = new AbortController();
    const caller = createCallerFactory(appRouter)(ctx, { signal: stop.signal });
    const stream = await caller.operator.fleet.watch({ intervalMs: 250 });
    const got = [];
    for await (const summary of stream) {
      got.push(summary);
      if (got.length === 2) stop.abort();
    }
    expect(got.map((s) => s.cars.online)).toEqual([1, 1]);
  });
});
