// A database no demo seeded: the first start makes one operator, however many instances start
// at once, and that operator can set up the rest over the API.
import { resetDatabase } from "@nightshift/db/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiConfig } from "../src/config";
import { hashPassword } from "../src/crypto";
import { createFirstOperator } from "../src/first-operator";
import { countRows, PARKED, startInstance, TestClock, testDatabase } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

it("makes one operator on an empty database, however many instances start at once", async () => {
  const t = database.get();
  await resetDatabase(t.pool);
  const passwordHash = await hashPassword("unused", { N: 2 ** 10, r: 8, p: 1 });
  // Connections open beforehand, so that the starts do overlap rather than queue for one.
  await Promise.all(Array.from({ length: 8 }, () => t.pool.query("SELECT pg_sleep(0.05)")));
  const made = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      createFirstOperator(t.db, { email: `ops${i}@example.com`, passwordHash }),
    ),
  );
  expect(made.filter((m) => m !== null)).toHaveLength(1);
  expect((await countRows(t.db)).operators).toBe(1);
  expect(await createFirstOperator(t.db, { email: "d@example.com", passwordHash })).toBeNull();
});

it("gives the first operator what it needs to set up a fleet: a region, a tenant, a code", async () => {
  const t = database.get();
  await resetDatabase(t.pool);
  const first = await createFirstOperator(t.db, { email: "Ops@Example.com" });
  expect(first).toEqual({ email: "ops@example.com", password: expect.any(String) });
  const api = await startInstance(t.db, new TestClock(), apiConfig());
  try {
    const { token } = await api.client().operator.auth.signIn.mutate(first!);
    const operator = api.client(token);
    await operator.operator.regions.create.mutate({
      id: "home",
      name: "Home",
      timeZone: "Europe/Berlin",
      tariff: [{ start: 0, end: 24, priceUsdPerKWh: 0.3 }],
      carbonGPerKWh: Array.from({ length: 24 }, () => 300),
    });
    const { apiKey } = await operator.operator.tenants.create.mutate({ id: "acme", name: "Acme" });
    const { code } = await operator.operator.enrollmentCodes.create.mutate({ ownerName: "Ann" });
    const car = await api.client().node.enroll.mutate({ code });
    expect(car.regionId).toBe("home");
    await api.client(car.credential).node.heartbeat.mutate(PARKED);
    expect(await api.client(apiKey.key).whoami.query()).toEqual({ kind: "tenant", id: "acme" });
    const events = await operator.operator.audit.list.query({ action: "operators.create" });
    expect(events.items.map((e) => [e.action, e.actorKind])).toEqual([
      ["operators.create", "system"],
    ]);
  } finally {
    await api.close();
  }
});
