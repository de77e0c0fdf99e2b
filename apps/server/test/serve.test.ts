// The real server, started as an operator would (`nightshift serve` in a child process), over
// real HTTP, on a real PostgreSQL: probes, metrics, the typed client, CORS, model files, a second
// instance on the same database, graceful shutdown and a restart on the same data folder.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createNightshiftClient } from "@nightshift/client/client";
import { apiErrorCode } from "@nightshift/client/errors";
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import { tinyInput } from "@nightshift/api/seed";
import { demoImagePath } from "@nightshift/models/demo-images";
import { GAUGE_READ_SHARED_MS } from "../src/metrics";
import { getManifest } from "@nightshift/models/registry";
import {
  parseDemo,
  type ServeProcess,
  spawnServe,
  STALL_MS,
  tempDir,
} from "@nightshift/server-testkit/serve";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const tmp = tempDir();
const dataDir = join(tmp, "db");
const modelsDir = join(tmp, "models");
const MODEL_BYTES = randomBytes(4096);
const MODEL_SHA = createHash("sha256").update(MODEL_BYTES).digest("hex");
const ALLOWED_ORIGIN = "http://console.test:3000";
const DRAIN_DELAY_MS = 10_000;
/** Sign-in attempts per client address: a burst of 10, then one per 2 s (api config). */
const SIGN_IN = DEFAULT_API_CONFIG.rateLimits.signIn;

let first: ServeProcess;
/** The second instance, on the first's database. */
let second: ServeProcess | undefined;
let demo: ReturnType<typeof parseDemo>;

/** Metric lines (no comments) as "name{labels}" → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return new Map(
    text
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => {
        const at = l.lastIndexOf(" ");
        return [l.slice(0, at), Number(l.slice(at + 1))];
      }),
  );
}

/**
 * A scrape that reads the database after everything written before the call: the gauges come
 * from one read shared by the scrapes of the next GAUGE_READ_SHARED_MS, so a scrape sent once
 * that much time has passed since the writes cannot be served by a read from before them. The
 * wait is a lower bound: a slow machine only makes it longer than needed, never too short.
 */
async function scrapeAfterWrites(url: string): Promise<Map<string, number>> {
  await new Promise((r) => setTimeout(r, GAUGE_READ_SHARED_MS + 1));
  return scrape(url);
}

const tinyInputs = (n: number) => Array.from({ length: n }, (_, i) => tinyInput([i, 1, 2, 3]));

beforeAll(async () => {
  mkdirSync(modelsDir);
  writeFileSync(join(modelsDir, "tiny.onnx"), MODEL_BYTES);
  first = await spawnServe(["--port", "0", "--data", dataDir, "--demo", "--print-database-url"], {
    env: {
      NIGHTSHIFT_CORS_ORIGINS: ALLOWED_ORIGIN,
      NIGHTSHIFT_MODELS_DIR: modelsDir,
      // The drain delay is a duration the server promises (/readyz 503 and the listener still
      // open for so long after SIGTERM); the shutdown test's five local requests must land in
      // it. 10 s is about a hundred times what they take on a loaded 2-core machine.
      NIGHTSHIFT_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
    },
  });
  demo = parseDemo(first.banner);
});

afterAll(async () => {
  await second?.stop();
  await first?.stop();
});

describe("one instance", () => {
  it("prints its URL, the database URL and the demo credentials it created", () => {
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.databaseUrl).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/nightshift$/);
    expect(demo.email).toBe("operator@nightshift.local");
    expect(demo.password.length).toBeGreaterThanOrEqual(12);
    expect([...demo.tenantKeys.keys()].length).toBeGreaterThan(0);
    for (const key of demo.tenantKeys.values()) expect(key).toMatch(/^nsk_/);
    // Scripts read these lines: their order and shape are kept. The enrollment code is the demo
    // fleet's (owners vouched for), the public code the strangers'.
    expect(first.banner.map((l) => /^(demo \S+|\S+)/.exec(l)![1])).toEqual([
      "demo operator",
      ...Array.from(demo.tenantKeys, () => "demo tenant-key"),
      "demo enrollment-code",
      "demo public-code",
      "database-url",
    ]);
    expect(demo.enrollmentCode).toMatch(/^NS-[\w-]{20}$/);
    expect(first.banner).toContain("demo public-code DEMO-NIGHTSHIFT");
  });

  it("answers /healthz and /readyz", async () => {
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ready\n");
    expect((await fetch(`${first.url}/nothing-here`)).status).toBe(404);
  });

  it("serves the typed API through @nightshift/client: operator sign-in, tenants, jobs", async () => {
    const anonymous = createNightshiftClient({ url: first.url });
    const session = await anonymous.operator.auth.signIn.mutate({
      email: demo.email,
      password: demo.password,
    });
    expect(session.token).toMatch(/^nso_/);
    const operator = createNightshiftClient({ url: first.url, credential: session.token });
    const tenants = await operator.operator.tenants.list.query();
    expect(tenants.map((t) => t.id).sort()).toEqual([...demo.tenantKeys.keys()].sort());

    const [tenantId, key] = [...demo.tenantKeys][0]!;
    const tenant = createNightshiftClient({ url: `${first.url}/`, credential: key });
    expect(await tenant.whoami.query()).toEqual({ kind: "tenant", id: tenantId });
    const job = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(3),
      replication: 1,
    });
    expect(job.taskCount).toBe(3);
    const status = await tenant.tenant.jobs.get.query({ jobId: job.jobId });
    expect(status).toMatchObject({ id: job.jobId, tenantId, status: "queued", taskCount: 3 });

    // The credential goes where it should: a tenant key is no operator session.
    const refused = await tenant.operator.tenants.list.query().catch((e: unknown) => e);
    expect(apiErrorCode(refused)).toBe("FORBIDDEN");
  });

  it("exposes Prometheus metrics: process defaults, tRPC calls and database gauges", async () => {
    const [, key] = [...demo.tenantKeys][0]!;
    const client = createNightshiftClient({ url: first.url, credential: key });
    await client.whoami.query();
    const bad = await client.tenant.jobs.get.query({ jobId: "nope" }).catch((e: unknown) => e);
    expect(apiErrorCode(bad)).toBe("BAD_REQUEST");

    const metrics = await scrapeAfterWrites(first.url);
    expect(metrics.get("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(metrics.has("nodejs_eventloop_lag_seconds")).toBe(true);
    expect(metrics.get('nightshift_trpc_calls_total{path="whoami",code="OK"}')).toBeGreaterThan(0);
    expect(
      metrics.get('nightshift_trpc_calls_total{path="tenant.jobs.get",code="BAD_REQUEST"}'),
    ).toBe(1);
    expect(
      metrics.get('nightshift_trpc_duration_seconds_count{path="whoami",outcome="ok"}'),
    ).toBeGreaterThan(0);
    expect(
      metrics.has('nightshift_trpc_duration_seconds_bucket{le="0.005",path="whoami",outcome="ok"}'),
    ).toBe(true);
    expect(metrics.get("nightshift_db_up")).toBe(1);
    // The job of the previous test: 3 tasks × 1 replica waiting for a car.
    expect(metrics.get("nightshift_queue_depth")).toBe(3);
    expect(metrics.get("nightshift_active_leases")).toBe(0);
    expect(metrics.get('nightshift_cars{state="parked"}')).toBe(0);
  });

  it("never logs credentials", () => {
    const log = first.stderr();
    expect(log).toContain('"path":"/trpc/operator.auth.signIn"');
    expect(log).not.toContain(demo.password);
    for (const key of demo.tenantKeys.values()) expect(log).not.toContain(key);
    expect(log).not.toMatch(/nso_|Bearer/);
  });

  it("answers CORS preflights from allowed origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${first.url}/trpc/tenant.jobs.submit`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
    expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");

    const other = await preflight("http://evil.test");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();

    const get = await fetch(`${first.url}/trpc/whoami`, { headers: { origin: ALLOWED_ORIGIN } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
  });

  it("serves model files with their sha256, immutable when asked for by sha256", async () => {
    const plain = await fetch(`${first.url}/models/tiny`);
    expect(plain.status).toBe(200);
    expect(Buffer.from(await plain.arrayBuffer()).equals(MODEL_BYTES)).toBe(true);
    expect(plain.headers.get("x-content-sha256")).toBe(MODEL_SHA);
    expect(plain.headers.get("etag")).toBe(`"${MODEL_SHA}"`);
    expect(plain.headers.get("cache-control")).not.toContain("immutable");

    const pinned = await fetch(`${first.url}/models/tiny/${MODEL_SHA}`);
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    await pinned.arrayBuffer();

    const revalidated = await fetch(`${first.url}/models/tiny`, {
      headers: { "if-none-match": `"${MODEL_SHA}"` },
    });
    expect(revalidated.status).toBe(304);
    expect((await fetch(`${first.url}/models/tiny/${"0".repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${first.url}/models/missing`)).status).toBe(404);
    expect((await fetch(`${first.url}/models/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
  });

  it("serves the registry's models and the images of jobs, by sha256, until no job needs them", async () => {
    const cls = getManifest("ppocr-cls")!;
    const model = await fetch(`${first.url}/models/ppocr-cls/${cls.sha256}`);
    expect(model.status).toBe(200);
    const modelBytes = Buffer.from(await model.arrayBuffer());
    expect(createHash("sha256").update(modelBytes).digest("hex")).toBe(cls.sha256);
    expect(modelBytes.length).toBe(cls.sizeBytes);

    const image = readFileSync(demoImagePath("line-open-road-0.png"));
    const tenant = createNightshiftClient({
      url: first.url,
      credential: [...demo.tenantKeys.values()].at(-1)!,
    });
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: "ppocr-cls",
      inputs: [{ image: { base64: image.toString("base64") } }],
    });
    const [task] = (await tenant.tenant.jobs.results.query({ jobId })).items;
    const sha = createHash("sha256").update(image).digest("hex");
    expect(task?.image).toMatchObject({ sha256: sha, url: `/inputs/${sha}` });
    const served = await fetch(`${first.url}/inputs/${sha}`);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("cache-control")).toContain("immutable");
    expect(Buffer.from(await served.arrayBuffer()).equals(image)).toBe(true);
    expect((await fetch(`${first.url}/inputs/${"0".repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${first.url}/inputs/not-a-hash`)).status).toBe(404);
    // Out of the queue that later tests count; and, cancelled, its image goes with the
    // server's next sweep (no other job uses it).
    await tenant.tenant.jobs.cancel.mutate({ jobId });
    await expect
      .poll(async () => (await fetch(`${first.url}/inputs/${sha}`)).status, { timeout: STALL_MS })
      .toBe(404);
    expect(await tenant.tenant.storage.get.query()).toMatchObject({ usedBytes: 0, images: 0 });
  });
});

describe("two instances on one database", () => {
  it("both serve, and see each other's writes", async () => {
    // As behind one load balancer: X-Forwarded-For names the client.
    second = await spawnServe(["--port", "0", "--database-url", first.databaseUrl!], {
      env: { NIGHTSHIFT_TRUSTED_PROXIES: "1" },
    });
    // Already seeded by the first, and not a demo: no credentials are made (or printed), and no
    // first operator either (the demo's is one).
    expect(second.banner).toEqual([]);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);

    const [, key] = [...demo.tenantKeys][0]!;
    const onFirst = createNightshiftClient({ url: first.url, credential: key });
    const onSecond = createNightshiftClient({ url: second.url, credential: key });
    const job = await onFirst.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(2),
      replication: 1,
    });
    expect(await onSecond.tenant.jobs.get.query({ jobId: job.jobId })).toMatchObject({
      id: job.jobId,
      taskCount: 2,
    });
    // Gauges come from the shared database: both instances report the same queue.
    const [a, b] = await Promise.all([scrapeAfterWrites(first.url), scrapeAfterWrites(second.url)]);
    expect(a.get("nightshift_queue_depth")).toBe(3 + 2);
    expect(b.get("nightshift_queue_depth")).toBe(3 + 2);
  });

  it("keys per-IP limits on X-Forwarded-For behind a trusted proxy, on the TCP peer otherwise", async () => {
    const wrongSignIn = (url: string, client: string) =>
      fetch(`${url}/trpc/operator.auth.signIn`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": client },
        body: JSON.stringify({ email: demo.email, password: "not the password" }),
      }).then((r) => r.status);
    // Sign-in allows a burst of 10 per address, then refills one per 2 s. The calls go at once,
    // but how long they take to arrive depends on the machine: the bucket may refill meanwhile.
    // So the check is the limiter's own rule over the time the burst actually took: at most
    // burst + perSecond × elapsed (+1 for a token refilled as the burst began) get through, the
    // rest are refused. Refused calls answer at once; those let through cost a scrypt each (4 at
    // a time), so a limiter keyed on the wrong address lets all 60 through in about 15 scrypts'
    // time, and fails this unless one scrypt takes over 6 s.
    const BURST = 60;
    const burst = async (url: string, client: (i: number) => string) => {
      const startedAt = performance.now();
      const statuses = await Promise.all(
        Array.from({ length: BURST }, (_, i) => wrongSignIn(url, client(i))),
      );
      const elapsedS = (performance.now() - startedAt) / 1000;
      const allowed = SIGN_IN.burst + Math.floor(SIGN_IN.perSecond * elapsedS) + 1;
      // Every call is a wrong password (401) or refused by the limiter (429).
      expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
      const passed = statuses.filter((s) => s === 401).length;
      console.log(
        `sign-in burst at ${url}: ${passed} of ${BURST} let through in ${elapsedS.toFixed(1)} s (at most ${allowed})`,
      );
      return { passed, allowed };
    };
    // One client spends its burst through the proxy…
    const spent = await burst(second!.url, () => "203.0.113.7");
    expect(spent.passed).toBeLessThanOrEqual(spent.allowed);
    // …and another client behind the same proxy is not held back by it.
    expect(await wrongSignIn(second!.url, "198.51.100.23")).toBe(401);
    // The first instance trusts no proxy: the header is the caller's word and changes nothing.
    const peer = await burst(first.url, (i) => `192.0.2.${i}`);
    expect(peer.passed).toBeLessThanOrEqual(peer.allowed);
  });
});

describe("shutdown and restart", () => {
  it("on SIGTERM: /readyz 503 and no new leases while draining, then exit 0", async () => {
    const car = await createNightshiftClient({ url: first.url }).node.enroll.mutate({
      code: demo.enrollmentCode,
    });
    const carClient = createNightshiftClient({ url: first.url, credential: car.credential });

    first.child.kill("SIGTERM");
    // The signal arrives when it arrives: /readyz is asked until it changes (a server that
    // never says 503 exits at the end of its drain, and the next fetch fails the test).
    let ready = await fetch(`${first.url}/readyz`);
    while (ready.status === 200) ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("shutting down");
    // Still alive, still answering calls other than leasing.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(await carClient.whoami.query()).toEqual({ kind: "car", id: car.carId });
    const lease = await carClient.node.lease.mutate({ max: 1 }).catch((e: unknown) => e);
    expect(apiErrorCode(lease)).toBe("SERVICE_UNAVAILABLE");
    const metrics = await scrape(first.url);
    expect(
      metrics.get('nightshift_trpc_calls_total{path="node.lease",code="SERVICE_UNAVAILABLE"}'),
    ).toBe(1);

    // It stopped on its own, without waiting out its drain timeout: what exit time stood for.
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain("server stopped");
    expect(first.stderr()).not.toContain("drain timed out");

    // The second instance has lost its database (the first's embedded one): alive, not ready.
    expect((await fetch(`${second!.url}/healthz`)).status).toBe(200);
    const orphan = await fetch(`${second!.url}/readyz`);
    expect(orphan.status).toBe(503);
    expect(await orphan.text()).toContain("database unreachable");
    expect((await scrapeAfterWrites(second!.url)).get("nightshift_db_up")).toBe(0);
    expect(await second!.stop(STALL_MS)).toBe(0);
  });

  it("keeps its data across a restart on the same --data folder", async () => {
    const again = await spawnServe(["--port", "0", "--data", dataDir, "--demo"]);
    try {
      expect(again.banner).toEqual([]);
      const [tenantId, key] = [...demo.tenantKeys][0]!;
      const tenant = createNightshiftClient({ url: again.url, credential: key });
      expect(await tenant.whoami.query()).toEqual({ kind: "tenant", id: tenantId });
      const jobs = await tenant.tenant.jobs.list.query({});
      expect(jobs.items.map((j) => j.taskCount).sort()).toEqual([2, 3]);
      const metrics = await scrape(again.url);
      expect(metrics.get('nightshift_cars{state="parked"}')).toBe(1);
    } finally {
      expect(await again.stop(STALL_MS)).toBe(0);
    }
  });
});
