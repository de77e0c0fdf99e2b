// While PostgreSQL is away, calls are refused with SERVICE_UNAVAILABLE (503: retry), not an
// internal error, whether the credential was already resolved or not; once it is back, the same
// server process serves again without a restart.
import { createNightshiftClient } from "@nightshift/client/client";
import { apiErrorCode } from "@nightshift/client/errors";
import { PUBLIC_DEMO_CODE, PARKED } from "@nightshift/server-testkit/serve";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Cluster, startCluster } from "../src/cluster";

let cluster: Cluster;
beforeAll(async () => {
  // Durable, as a server runs: without synchronous commit, an immediate shutdown loses the
  // last commits (the car enrolled just before is then gone: seen when this was false).
  cluster = await startCluster({ instances: 1 });
});
afterAll(async () => {
  await cluster?.stop();
});

it("answers 503 while the database is away, and serves again when it is back", async () => {
  const [url] = cluster.urls as [string];
  const enrolled = await createNightshiftClient({ url }).node.enroll.mutate({
    code: PUBLIC_DEMO_CODE,
  });
  const car = createNightshiftClient({ url, credential: enrolled.credential });
  await car.node.heartbeat.mutate(PARKED);
  // A tenant key never used yet: resolving it needs the database.
  const [, key] = [...cluster.tenantKeys][0]!;
  const tenant = createNightshiftClient({ url, credential: key });

  await cluster.stopDatabase();
  const codes = {
    // The car's credential is cached: the procedure itself meets the database away.
    heartbeat: apiErrorCode(await car.node.heartbeat.mutate(PARKED).catch((e: unknown) => e)),
    // The key is not: resolving the caller meets it.
    jobs: apiErrorCode(await tenant.tenant.jobs.list.query({}).catch((e: unknown) => e)),
    enroll: apiErrorCode(
      await createNightshiftClient({ url })
        .node.enroll.mutate({ code: PUBLIC_DEMO_CODE })
        .catch((e: unknown) => e),
    ),
  };
  const ready = (await fetch(`${url}/readyz`)).status;
  await cluster.startDatabase();

  expect(codes).toEqual({
    heartbeat: "SERVICE_UNAVAILABLE",
    jobs: "SERVICE_UNAVAILABLE",
    enroll: "SERVICE_UNAVAILABLE",
  });
  expect(ready).toBe(503);
  // Back: the pool opens new connections; nothing to restart. Retried while the answer is 503
  // (PostgreSQL took over 20 s to start on a loaded 2-core machine, and the pool's first
  // connections follow), with no deadline: any other failure fails at once, and a server that
  // never serves again is caught by vitest's timeout, a hang guard.
  for (;;) {
    const error = await car.node.heartbeat.mutate(PARKED).then(
      () => null,
      (e: unknown) => e,
    );
    if (error === null) break;
    expect(apiErrorCode(error)).toBe("SERVICE_UNAVAILABLE");
    // Only paces the retries.
    await new Promise((r) => setTimeout(r, 200));
  }
  expect((await tenant.tenant.jobs.list.query({})).items).toEqual([]);
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
});
