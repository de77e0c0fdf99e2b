// Hostile input: every tRPC procedure of the router called over real HTTP with inputs generated
// by fast-check (under every kind of credential), then malformed HTTP (broken JSON, wrong
// content types and methods, oversized and deeply nested bodies, oversized headers), tampered
// model and input file requests, and replayed and revoked credentials. No request may get a
// server error (5xx), and no refused request may change a row.
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import { tinyInput } from "@nightshift/api/seed";
import { appRouter } from "@nightshift/api/router";
import { createNightshiftClient } from "@nightshift/client/client";
import { DEMO_CODE, PARKED, STALL_MS } from "@nightshift/server/testing";
import fc from "fast-check";
import { z } from "zod";
import { type Cluster, startCluster } from "./cluster";
import { figures, type Figure } from "./figures";

export interface HostileSize {
  /** Generated calls per procedure. */
  callsPerProcedure: number;
  seed: number;
}

export const HOSTILE_CI: HostileSize = { callsPerProcedure: 8, seed: 4 };
export const HOSTILE_LONG: HostileSize = { callsPerProcedure: 100, seed: 4 };

type Kind = "query" | "mutation" | "subscription";
interface Procedure {
  path: string;
  kind: Kind;
  /** Property names anywhere in its input schema: generated objects use them as keys. */
  keys: string[];
}

/** The router's procedures, read from the router itself so that a new one is fuzzed too. */
export function procedures(): Procedure[] {
  const defs = (
    appRouter._def as unknown as {
      procedures: Record<string, { _def: { type: Kind; inputs: z.ZodType[] } }>;
    }
  ).procedures;
  return Object.entries(defs).map(([path, p]) => {
    const keys = new Set<string>();
    for (const schema of p._def.inputs) {
      let json: unknown = {};
      try {
        json = z.toJSONSchema(schema, { unrepresentable: "any", io: "input" });
      } catch {
        // A schema JSON Schema cannot express: generic keys only.
      }
      collectKeys(json, keys);
    }
    return { path, kind: p._def.type, keys: [...keys] };
  });
}

function collectKeys(node: unknown, into: Set<string>) {
  if (Array.isArray(node)) for (const n of node) collectKeys(n, into);
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o.properties && typeof o.properties === "object")
      for (const k of Object.keys(o.properties)) into.add(k);
    for (const v of Object.values(o)) collectKeys(v, into);
  }
}

interface Answer {
  status: number;
  body: string;
}

/** One raw HTTP request (node:http, so that headers and bodies can be as wrong as we like). */
function send(
  url: string,
  opts: {
    method: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    timeoutMs?: number;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size < 64 * 1024) chunks.push(c);
      });
      res.on("end", done);
      res.on("error", done);
      // An event stream never ends: its status is what we came for.
      if (String(res.headers["content-type"]).startsWith("text/event-stream")) {
        setTimeout(() => {
          res.destroy();
          done();
        }, opts.timeoutMs ?? 300);
      }
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      // A server that cuts the connection on a body it will not read answers nothing more.
      if (error.code === "ECONNRESET" || error.code === "EPIPE")
        resolve({ status: 0, body: error.code });
      else reject(error);
    });
    // A hang guard, not a time budget: the socket idle (no byte either way) for STALL_MS.
    req.setTimeout(STALL_MS, () => req.destroy(new Error(`no answer from ${url}`)));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/**
 * Tables no request writes: each instance's own timers do (a fleet sample a minute), whenever
 * the clock says, so a row there may appear while any request is under way.
 */
const WRITTEN_BY_TIMERS = new Set(["fleet_samples"]);

/** Every row of every table as "table:md5(row)": what a refused call must leave as it was. */
async function snapshot(pool: Cluster["pool"]): Promise<Set<string>> {
  const { rows: all } = await pool.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  const tables = all.filter((t) => !WRITTEN_BY_TIMERS.has(t.name));
  const union = tables
    .map((t) => `SELECT '${t.name}:' || md5(x::text) AS h FROM "${t.name}" x`)
    .join(" UNION ALL ");
  const { rows } = await pool.query<{ h: string }>(union);
  return new Set(rows.map((r) => r.h));
}

function changed(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const h of a) if (!b.has(h)) n++;
  for (const h of b) if (!a.has(h)) n++;
  return n;
}

export async function hostile(size: HostileSize): Promise<Figure[]> {
  const cluster = await startCluster({ instances: 2 });
  const [url, otherUrl] = cluster.urls as [string, string];
  const trpc = `${url}/trpc`;
  try {
    // A world to aim at: a car holding a lease of a tenant's job, an operator signed in.
    const [tenantId, tenantKey] = [...cluster.tenantKeys][0]!;
    const tenant = createNightshiftClient({ url, credential: tenantKey });
    const anonymous = createNightshiftClient({ url });
    const enrolled = await anonymous.node.enroll.mutate({ code: DEMO_CODE });
    const car = createNightshiftClient({ url, credential: enrolled.credential });
    await car.node.heartbeat.mutate(PARKED);
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([1, 2, 3, 4]), tinyInput([5, 6, 7, 8])],
      replication: 1,
    });
    const [held] = (await car.node.lease.mutate({ max: 1 })).tasks;
    const session = await anonymous.operator.auth.signIn.mutate(cluster.operator);
    const tokens = {
      anonymous: undefined,
      car: enrolled.credential,
      tenant: tenantKey,
      operator: session.token,
    } as const;
    const roles = Object.keys(tokens) as (keyof typeof tokens)[];
    const known = [
      jobId,
      held!.leaseId,
      held!.taskId,
      enrolled.carId,
      enrolled.ownerId,
      tenantId,
      "tiny-mlp",
      "us-west",
      DEMO_CODE,
      cluster.operator.email,
    ];

    let tried = 0;
    let rejected = 0;
    let rowsChanged = 0;
    const byClass = new Map<string, number>();
    const serverErrors: string[] = [];
    const rowChanges: string[] = [];
    // The car that holds the lease heartbeats before every request: the server's sweeper ends
    // the leases of a car silent for 90 s, and such a change must never fall between a probe's
    // snapshots, however slowly the probes go. Its answer does not matter (fuzzing may have
    // revoked or quarantined the car).
    const keepAlive = () => car.node.heartbeat.mutate(PARKED).catch(() => {});
    /**
     * Sends one request and checks it: no 5xx; refused → no row changed. `beat: false` leaves
     * the heartbeat to the caller, whose own snapshots span several probes.
     */
    const probe = async (what: string, go: () => Promise<Answer>, { beat = true } = {}) => {
      if (beat) await keepAlive();
      const before = await snapshot(cluster.pool);
      const answer = await go();
      tried += 1;
      const cls = answer.status === 0 ? "cut" : `${Math.floor(answer.status / 100)}xx`;
      byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
      if (answer.status >= 500)
        serverErrors.push(`${what} → ${answer.status} ${answer.body.slice(0, 300)}`);
      // A tRPC batch answers 207 when some of its calls failed: count it as refused too.
      const refused = answer.status === 0 || answer.status >= 400 || answer.status === 207;
      if (refused) {
        rejected += 1;
        const n = changed(before, await snapshot(cluster.pool));
        if (n > 0) rowChanges.push(`${what}: ${n} rows`);
        rowsChanged += n;
      }
      return answer;
    };
    const call = (path: string, kind: Kind, input: unknown, token?: string) => {
      const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
      return kind === "mutation"
        ? send(`${trpc}/${path}`, {
            method: "POST",
            headers: { ...auth, "content-type": "application/json" },
            body: input === undefined ? "" : JSON.stringify(input),
          })
        : send(`${trpc}/${path}${q}`, {
            method: "GET",
            headers: kind === "subscription" ? { ...auth, accept: "text/event-stream" } : auth,
          });
    };

    // ---- every procedure, generated inputs, every kind of caller ----
    const list = procedures().filter(
      // Signing out would end the session the rest of the fuzzing uses; it is tried at the end.
      (p) => p.path !== "operator.auth.signOut",
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(...known),
      fc.double(),
      fc.integer(),
      fc.string({ maxLength: 40 }),
      fc.constant(null),
    );
    for (const [k, p] of list.entries()) {
      const shaped = fc.dictionary(fc.constantFrom(...(p.keys.length ? p.keys : ["x"])), value, {
        maxKeys: 6,
      });
      const input = fc.oneof(shaped, shaped, fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined));
      const role = fc.constantFrom(...roles);
      const cases = fc.sample(fc.tuple(input, role), {
        numRuns: size.callsPerProcedure,
        seed: size.seed + k,
      });
      for (const [i, r] of cases) {
        await probe(`${p.path} as ${r} with ${JSON.stringify(i)?.slice(0, 200)}`, () =>
          call(p.path, p.kind, i, tokens[r]),
        );
      }
    }
    const fuzzed = tried;

    // ---- malformed HTTP ----
    const json = { "content-type": "application/json" };
    const carAuth = { authorization: `Bearer ${tokens.car}` };
    const malformed: [string, () => Promise<Answer>][] = [
      [
        "broken JSON",
        () =>
          send(`${trpc}/node.heartbeat`, {
            method: "POST",
            headers: { ...carAuth, ...json },
            body: '{"state":',
          }),
      ],
      [
        "JSON that is a string",
        () =>
          send(`${trpc}/node.lease`, {
            method: "POST",
            headers: { ...carAuth, ...json },
            body: '"max"',
          }),
      ],
      [
        "text/plain body",
        () =>
          send(`${trpc}/node.lease`, {
            method: "POST",
            headers: { ...carAuth, "content-type": "text/plain" },
            body: '{"max":1}',
          }),
      ],
      [
        "form body",
        () =>
          send(`${trpc}/node.enroll`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "code=DEMO-NIGHTSHIFT",
          }),
      ],
      [
        "multipart body",
        () =>
          send(`${trpc}/node.enroll`, {
            method: "POST",
            headers: { "content-type": "multipart/form-data; boundary=x" },
            body: '--x\r\nContent-Disposition: form-data; name="code"\r\n\r\nDEMO-NIGHTSHIFT\r\n--x--\r\n',
          }),
      ],
      [
        "not UTF-8",
        () =>
          send(`${trpc}/node.enroll`, {
            method: "POST",
            headers: json,
            body: Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x7d]),
          }),
      ],
      [
        "GET on a mutation",
        () =>
          send(`${trpc}/node.enroll?input=${encodeURIComponent('{"code":"DEMO-NIGHTSHIFT"}')}`, {
            method: "GET",
          }),
      ],
      [
        "POST on a query",
        () =>
          send(`${trpc}/tenant.jobs.list`, {
            method: "POST",
            headers: { authorization: `Bearer ${tenantKey}`, ...json },
            body: "{}",
          }),
      ],
      [
        "unknown procedure",
        () => send(`${trpc}/node.nothing`, { method: "POST", headers: json, body: "{}" }),
      ],
      [
        "bad percent-encoding",
        () =>
          send(`${trpc}/tenant.jobs.list?input=%E0%A4%A`, {
            method: "GET",
            headers: { authorization: `Bearer ${tenantKey}` },
          }),
      ],
      [
        "input that is not JSON",
        () =>
          send(`${trpc}/tenant.jobs.list?input=not-json`, {
            method: "GET",
            headers: { authorization: `Bearer ${tenantKey}` },
          }),
      ],
      [
        "nested 100,000 deep",
        () =>
          send(`${trpc}/node.heartbeat`, {
            method: "POST",
            headers: { ...carAuth, ...json },
            body: "[".repeat(100_000) + "]".repeat(100_000),
          }),
      ],
      [
        "body over the limit (25 MiB)",
        () =>
          send(`${trpc}/tenant.jobs.submit`, {
            method: "POST",
            headers: { authorization: `Bearer ${tenantKey}`, ...json },
            body: Buffer.alloc(25 * 1024 * 1024, 0x20),
          }),
      ],
      [
        "a batch of 2,000 calls",
        () => send(`${trpc}/${Array(2000).fill("whoami").join(",")}?batch=1`, { method: "GET" }),
      ],
      [
        "batch input that is not an object",
        () =>
          send(`${trpc}/node.enroll,node.enroll?batch=1`, {
            method: "POST",
            headers: json,
            body: "[1,2]",
          }),
      ],
      [
        "header of 32 KiB",
        () =>
          send(`${trpc}/whoami`, {
            method: "GET",
            headers: { authorization: `Bearer nsc_${"A".repeat(32 * 1024)}` },
          }),
      ],
      [
        "forged car token",
        () =>
          send(`${trpc}/node.lease`, {
            method: "POST",
            headers: { authorization: `Bearer nsc_${"A".repeat(43)}`, ...json },
            body: "{}",
          }),
      ],
      [
        "token of no kind",
        () =>
          send(`${trpc}/node.lease`, {
            method: "POST",
            headers: { authorization: "Bearer xyz_123", ...json },
            body: "{}",
          }),
      ],
      [
        "two Content-Lengths",
        () =>
          send(`${trpc}/whoami`, {
            method: "GET",
            headers: { "content-length": "0", "transfer-encoding": "chunked" },
          }),
      ],
      // A model file asked for by the wrong sha256 (a tampered or stale copy), or by a path
      // that walks out of the models folder: never served.
      [
        "model by a wrong sha256",
        () => send(`${url}/models/tiny-mlp/${"0".repeat(64)}`, { method: "GET" }),
      ],
      [
        "model path walking out",
        () => send(`${url}/models/..%2F..%2Fpackage.json/${"0".repeat(64)}`, { method: "GET" }),
      ],
      ["model path with dots", () => send(`${url}/models/../../etc/passwd`, { method: "GET" })],
      [
        "input by a bad sha256",
        () => send(`${url}/inputs/..%2F..%2Fetc%2Fpasswd`, { method: "GET" }),
      ],
    ];
    const notServed: string[] = [];
    for (const [what, go] of malformed) {
      const answer = await probe(what, go);
      if (what.startsWith("model") || what.startsWith("input")) {
        if (answer.status === 200) notServed.push(`${what} was served`);
      }
    }

    // ---- replayed and revoked credentials ----
    let revokedAccepted = 0;
    let replayWrites = 0;
    const refusedNow = async (what: string, go: () => Promise<Answer>) => {
      const a = await probe(what, go);
      if (a.status !== 401) revokedAccepted += 1;
    };
    const operator = createNightshiftClient({ url, credential: session.token });
    // Fuzzing as the operator may have paused the tenant or drained regions: undo that first.
    await operator.operator.tenants.update.mutate({ id: tenantId, paused: false });
    for (const region of await operator.operator.regions.list.query())
      if (region.drained) await operator.operator.regions.undrain.mutate({ id: region.id });
    // A submit replayed, by a fresh car (fuzzing may have ended the first one's lease or car):
    // recognised, nothing written again.
    const fresh = await anonymous.node.enroll.mutate({ code: DEMO_CODE });
    const freshCar = createNightshiftClient({ url, credential: fresh.credential });
    await freshCar.node.heartbeat.mutate(PARKED);
    await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: [tinyInput([9, 9, 9, 9])],
      replication: 1,
      priority: 9,
    });
    const [replayed] = (await freshCar.node.lease.mutate({ max: 1 })).tasks;
    const submitInput = {
      leaseId: replayed!.leaseId,
      output: [1, 2, 3, 4],
      durationMs: 1,
      backend: "native",
    };
    const first = await call("node.submit", "mutation", submitInput, fresh.credential);
    if (!first.body.includes('"accepted":true')) replayWrites += 1;
    await keepAlive();
    const beforeReplay = await snapshot(cluster.pool);
    for (let i = 0; i < 3; i++) {
      const a = await probe(
        "replayed submit",
        () => call("node.submit", "mutation", submitInput, fresh.credential),
        { beat: false },
      );
      if (!a.body.includes('"duplicate":true')) replayWrites += 1;
    }
    replayWrites += changed(beforeReplay, await snapshot(cluster.pool));

    // How long a revoked credential still works on the other instance: a figure. What is
    // checked is the promise, by counting: the other instance resolved the credential (and
    // cached it for authCacheS) before the revocation was answered, so a call sent to it a full
    // cache lifetime after that answer must be refused, however slow the machine. The polling
    // stops at the first refusal, or at the first call past that point, refused or not.
    const cacheMs = DEFAULT_API_CONFIG.authCacheS * 1000;
    let acceptedPastCache = 0;
    const propagation = async (token: string, path: string, kind: Kind, input?: unknown) => {
      const from = performance.now();
      for (;;) {
        const sentAtMs = performance.now() - from;
        const a = await send(`${otherUrl}/trpc/${path}`, {
          method: kind === "mutation" ? "POST" : "GET",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: kind === "mutation" ? JSON.stringify(input ?? {}) : undefined,
        });
        if (a.status === 401) return performance.now() - from;
        if (sentAtMs >= cacheMs) {
          acceptedPastCache += 1;
          return Infinity;
        }
        // Only paces the polls.
        await sleep(100);
      }
    };

    // A tenant key: made, used on both instances, revoked on one.
    const key = await operator.operator.tenants.createKey.mutate({ tenantId });
    await send(`${otherUrl}/trpc/tenant.jobs.list`, {
      method: "GET",
      headers: { authorization: `Bearer ${key.key}` },
    });
    await operator.operator.tenants.revokeKey.mutate({ keyId: key.keyId });
    await refusedNow("revoked tenant key", () => call("tenant.jobs.list", "query", {}, key.key));
    const keyPropagationMs = await propagation(key.key, "tenant.jobs.list", "query");

    // A car: revoked by the operator; its credential must stop working and its leases end.
    await send(`${otherUrl}/trpc/node.heartbeat`, {
      method: "POST",
      headers: { authorization: `Bearer ${fresh.credential}`, ...json },
      body: JSON.stringify(PARKED),
    });
    await operator.operator.cars.revoke.mutate({ carId: fresh.carId });
    await refusedNow("revoked car heartbeat", () =>
      call("node.heartbeat", "mutation", PARKED, fresh.credential),
    );
    await refusedNow("revoked car lease", () =>
      call("node.lease", "mutation", { max: 1 }, fresh.credential),
    );
    const carPropagationMs = await propagation(
      fresh.credential,
      "node.heartbeat",
      "mutation",
      PARKED,
    );

    // An operator session: signed out, then replayed.
    await send(`${otherUrl}/trpc/operator.fleet.summary`, {
      method: "GET",
      headers: { authorization: `Bearer ${tokens.operator}` },
    });
    await operator.operator.auth.signOut.mutate();
    await refusedNow("signed-out session", () =>
      call("operator.fleet.summary", "query", undefined, tokens.operator),
    );
    const sessionPropagationMs = await propagation(
      tokens.operator,
      "operator.fleet.summary",
      "query",
    );

    if (serverErrors.length)
      console.log(`server errors:\n  ${serverErrors.slice(0, 20).join("\n  ")}`);
    if (rowChanges.length)
      console.log(`rows changed by refused requests:\n  ${rowChanges.slice(0, 20).join("\n  ")}`);
    if (notServed.length) console.log(notServed.join("\n"));
    return figures({
      procedures: [list.length + 1, "tRPC procedures (signOut by hand)"],
      requestsTried: [tried, "requests"],
      fuzzedCalls: [fuzzed, "generated calls"],
      malformedRequests: [malformed.length, "requests"],
      answered2xx: [byClass.get("2xx") ?? 0, "requests"],
      answered4xx: [byClass.get("4xx") ?? 0, "requests"],
      connectionsCut: [byClass.get("cut") ?? 0, "requests (body refused unread)"],
      serverErrors: [serverErrors.length, "5xx answers"],
      refused: [rejected, "requests"],
      rowsChangedByRefused: [rowsChanged, "rows"],
      filesServedWrongly: [notServed.length, "model or input requests"],
      replayWrites: [replayWrites, "rows or non-duplicate answers from replayed submits"],
      revokedAccepted: [revokedAccepted, "calls accepted with a revoked credential"],
      revokedAcceptedPastCache: [
        acceptedPastCache,
        `calls accepted by the other instance ${DEFAULT_API_CONFIG.authCacheS} s (its credential cache) after the revocation`,
      ],
      tenantKeyRevokedOtherInstanceMs: [keyPropagationMs, "ms until the other instance refuses it"],
      carRevokedOtherInstanceMs: [carPropagationMs, "ms until the other instance refuses it"],
      sessionEndedOtherInstanceMs: [sessionPropagationMs, "ms until the other instance refuses it"],
    });
  } finally {
    await cluster.stop();
  }
}
