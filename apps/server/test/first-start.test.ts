// `nightshift serve` without --demo, as production runs it: the first start on an empty database
// makes the first operator and prints its password once; that operator sets up a region, a
// tenant and an enrollment code over the API, and a car enrolls with the code and gets work. No
// demo world: no demo tenants, regions or codes.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tinyInput } from "@nightshift/api/seed";
import { createNightshiftClient } from "@nightshift/client/client";
import { apiErrorCode } from "@nightshift/client/errors";
import {
  PARKED,
  PUBLIC_DEMO_CODE,
  type ServeProcess,
  spawnServe,
  STALL_MS,
  tempDir,
} from "@nightshift/server-testkit/serve";
import { afterAll, expect, it } from "vitest";

const tmp = tempDir();
const dataDir = join(tmp, "db");
let server: ServeProcess | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

it("makes the first operator, who sets up a region, a tenant and a code a car enrolls with", async () => {
  server = await spawnServe([
    "--port",
    "0",
    "--data",
    dataDir,
    "--operator-email",
    "Ops@Example.com",
  ]);
  // One line before `listening on`: the operator and its password, printed this once.
  expect(server.banner).toEqual([expect.stringMatching(/^operator ops@example\.com \S{12,}$/)]);
  const [, email, password] = server.banner[0]!.split(" ") as [string, string, string];
  const url = server.url;
  const anonymous = createNightshiftClient({ url });
  const { token } = await anonymous.operator.auth.signIn.mutate({ email, password });
  const operator = createNightshiftClient({ url, credential: token }).operator;
  expect(await operator.regions.list.query()).toEqual([]);
  expect(await operator.tenants.list.query()).toEqual([]);
  // No demo code on a server that is not a demo.
  expect(
    apiErrorCode(
      await anonymous.node.enroll.mutate({ code: PUBLIC_DEMO_CODE }).catch((e: unknown) => e),
    ),
  ).toBe("NOT_FOUND");

  await operator.regions.create.mutate({
    id: "home",
    name: "Home",
    timeZone: "Europe/Berlin",
    tariff: [{ start: 0, end: 24, priceUsdPerKWh: 0.3 }],
    carbonGPerKWh: Array.from({ length: 24 }, () => 300),
  });
  const { apiKey } = await operator.tenants.create.mutate({ id: "acme", name: "Acme" });
  const { code } = await operator.enrollmentCodes.create.mutate({ ownerName: "Ann", uses: 1 });

  const enrolled = await anonymous.node.enroll.mutate({ code });
  expect(enrolled.regionId).toBe("home");
  const car = createNightshiftClient({ url, credential: enrolled.credential });
  await car.node.heartbeat.mutate(PARKED);
  const tenant = createNightshiftClient({ url, credential: apiKey.key });
  await tenant.tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: [tinyInput([1, 2, 3])],
    replication: 1,
  });
  expect((await car.node.lease.mutate({})).tasks).toHaveLength(1);
});

it("makes no operator again: a restart prints nothing, and the first password still works", async () => {
  const [, email, password] = server!.banner[0]!.split(" ") as [string, string, string];
  expect(await server!.stop(STALL_MS)).toBe(0);
  // --no-seed, the flag of earlier releases, still starts a server: what serve now does anyway.
  server = await spawnServe(["--port", "0", "--data", dataDir, "--no-seed"]);
  expect(server.banner).toEqual([]);
  const session = await createNightshiftClient({ url: server.url }).operator.auth.signIn.mutate({
    email,
    password,
  });
  expect(session.token).toMatch(/^nso_/);
});
