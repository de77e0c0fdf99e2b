// Load: how many parked cars one server instance (and two) holds with the p99 of heartbeat
// latency under 100 ms. Cars heartbeat every few seconds at random phases; the fleet grows step
// by step until the p99 of a step's heartbeats, as the cars saw them, passes the limit.
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { PARKED } from "@nightshift/server-testkit/serve";
import { startCluster } from "./cluster";
import { figures, type Figure, quantile } from "./figures";

export interface LoadSize {
  steps: readonly number[];
  heartbeatEveryMs: number;
  /** How long each step is measured, after one heartbeat period to settle. */
  windowMs: number;
  limitMs: number;
  /** PostgreSQL with fsync and synchronous commit, as `nightshift serve` runs it. */
  durable: boolean;
}

export const LOAD_CI: LoadSize = {
  steps: [25, 50, 100],
  heartbeatEveryMs: 2000,
  windowMs: 3000,
  limitMs: 100,
  durable: true,
};
export const LOAD_LONG: LoadSize = {
  steps: [50, 100, 250, 500, 1000, 2000, 4000, 8000],
  heartbeatEveryMs: 5000,
  windowMs: 15_000,
  limitMs: 100,
  durable: true,
};

// Idle sockets close after 4 s, before the server's 5 s keep-alive timeout, so that a request is
// seldom sent on a socket the server is closing; on a busy machine the timer may fire late, so
// post() also retries once when a reused socket turns out closed (see there).
const agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });

/**
 * One POST. A request sent on a reused keep-alive socket that the server closed in the meantime
 * fails with ECONNRESET before the server read it (Node's documented race, `reusedSocket`): it
 * is sent again once, on a fresh socket, as an HTTP client does. Any other failure is the
 * caller's. Whether the race happens depends on timers, not on the server: counting it as a
 * failed heartbeat would make the test fail with the machine's speed.
 */
async function post(
  url: string,
  body: unknown,
  opts: { token?: string; localAddress?: string } = {},
): Promise<{ status: number; json: unknown }> {
  try {
    return await postOnce(url, body, opts);
  } catch (error) {
    if ((error as { reusedSocketReset?: boolean }).reusedSocketReset)
      return postOnce(url, body, opts);
    throw error;
  }
}

function postOnce(
  url: string,
  body: unknown,
  opts: { token?: string; localAddress?: string } = {},
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: opts.localAddress ? undefined : agent,
        localAddress: opts.localAddress,
        headers: {
          "content-type": "application/json",
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c: string) => (text += c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: text });
          }
        });
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (req.reusedSocket && error.code === "ECONNRESET")
        Object.assign(error, { reusedSocketReset: true });
      reject(error);
    });
    req.end(JSON.stringify(body));
  });
}

/**
 * Enrolls `count` cars at `url`. Enrollment is rate-limited per client address (200 at once,
 * then 50/s): each batch comes from its own loopback address (127.0.0.2, …), as cars do from
 * their own addresses.
 */
async function enroll(
  url: string,
  code: string,
  count: number,
  firstAddress: number,
): Promise<string[]> {
  const tokens: string[] = [];
  for (let from = 0; from < count; from += 100) {
    const localAddress = `127.0.${Math.floor((firstAddress + from / 100) / 250)}.${2 + ((firstAddress + from / 100) % 250)}`;
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - from) }, () =>
        post(`${url}/trpc/node.enroll`, { code }, { localAddress }),
      ),
    );
    for (const b of batch) {
      const data = (b.json as { result?: { data?: { credential?: string } } }).result?.data;
      if (b.status !== 200 || !data?.credential)
        throw new Error(`enrollment refused: ${b.status} ${JSON.stringify(b.json).slice(0, 200)}`);
      tokens.push(data.credential);
    }
  }
  return tokens;
}

/** The heartbeat duration histogram of an instance: cumulative count per upper bound (s). */
async function heartbeatBuckets(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m =
      /^nightshift_trpc_duration_seconds_bucket\{le="([^"]+)",path="node\.heartbeat",outcome="ok"\} (\d+)/.exec(
        line,
      );
    if (m) out.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** The upper bound of the bucket holding the q-quantile of what was added between two scrapes. */
function bucketQuantile(
  before: readonly Map<number, number>[],
  after: readonly Map<number, number>[],
  q: number,
): number {
  const sum = new Map<number, number>();
  after.forEach((a, i) => {
    for (const [le, n] of a) sum.set(le, (sum.get(le) ?? 0) + n - (before[i]!.get(le) ?? 0));
  });
  const bounds = [...sum.keys()].sort((x, y) => x - y);
  const total = sum.get(Infinity) ?? 0;
  for (const le of bounds) if (total > 0 && sum.get(le)! >= q * total) return le * 1000;
  return NaN;
}

interface Step {
  cars: number;
  p50: number;
  p99: number;
  /** As the servers measured it (their histogram's bucket bound), without the client's own delays. */
  serverP99: number;
  errors: number;
  beats: number;
}

async function measure(instances: number, size: LoadSize): Promise<Step[]> {
  const cluster = await startCluster({ instances, durable: size.durable });
  const steps: Step[] = [];
  try {
    const cars: { token: string; url: string }[] = [];
    let stop = false;
    let window: { latencies: number[]; errors: number } | null = null;
    const beat = async (car: { token: string; url: string }) => {
      await sleep(Math.random() * size.heartbeatEveryMs);
      while (!stop) {
        const t0 = performance.now();
        const ok = await post(`${car.url}/trpc/node.heartbeat`, PARKED, { token: car.token }).then(
          (r) => r.status === 200,
          () => false,
        );
        const ms = performance.now() - t0;
        if (window) {
          window.latencies.push(ms);
          if (!ok) window.errors += 1;
        }
        await sleep(Math.max(0, size.heartbeatEveryMs - ms));
      }
    };
    const running: Promise<void>[] = [];
    for (const target of size.steps) {
      const more = target - cars.length;
      for (let i = 0; i < instances; i++) {
        const url = cluster.urls[i]!;
        const share = Math.floor(more / instances) + (i < more % instances ? 1 : 0);
        // The fleet's code: thousands of cars, more than the public code's uses.
        const tokens = await enroll(url, cluster.enrollmentCode, share, cars.length + i * 1000);
        for (const token of tokens) {
          const car = { token, url };
          cars.push(car);
          running.push(beat(car));
        }
      }
      await sleep(size.heartbeatEveryMs);
      const scraped = await Promise.all(cluster.urls.map(heartbeatBuckets));
      window = { latencies: [], errors: 0 };
      // A window of windowMs, and at least one heartbeat per car in it: on a busy machine the
      // beats come slower, and a window with few (or none) would measure nothing.
      await sleep(size.windowMs);
      while (window.latencies.length < cars.length) await sleep(50);
      const serverP99 = bucketQuantile(
        scraped,
        await Promise.all(cluster.urls.map(heartbeatBuckets)),
        0.99,
      );
      const w: { latencies: number[]; errors: number } = window;
      window = null;
      const step = {
        cars: cars.length,
        p50: quantile(w.latencies, 0.5),
        p99: quantile(w.latencies, 0.99),
        serverP99,
        errors: w.errors,
        beats: w.latencies.length,
      };
      steps.push(step);
      console.log(
        `  ${instances} instance(s), ${step.cars} cars: p50 ${step.p50.toFixed(1)} ms, p99 ${step.p99.toFixed(1)} ms (server ≤ ${step.serverP99} ms), ${step.beats} heartbeats, ${step.errors} errors`,
      );
      // One step over the limit may be a neighbour's noise on a shared machine: stop when a step
      // is far over it, or two in a row are over it.
      const over = steps.slice(-2).filter((x) => x.p99 > size.limitMs).length;
      if (step.p99 > 3 * size.limitMs || over === 2) break;
    }
    stop = true;
    await Promise.all(running);
    return steps;
  } finally {
    await cluster.stop();
  }
}

export async function load(size: LoadSize): Promise<Figure[]> {
  const entries: Record<string, readonly [number, string]> = {};
  for (const instances of [1, 2]) {
    const steps = await measure(instances, size);
    const held = steps.filter((s) => s.p99 <= size.limitMs && s.errors === 0);
    const best = held.at(-1);
    const label = instances === 1 ? "oneInstance" : "twoInstances";
    entries[`${label}.maxCars`] = [best?.cars ?? 0, `cars with p99 heartbeat ≤ ${size.limitMs} ms`];
    entries[`${label}.p99AtMax`] = [best?.p99 ?? NaN, "ms"];
    entries[`${label}.reachedLastStep`] = [
      held.length === size.steps.length ? 1 : 0,
      "1 = the largest step held: the real limit is higher",
    ];
    entries[`${label}.heartbeatErrors`] = [
      steps.reduce((s, x) => s + x.errors, 0),
      "heartbeats refused or failed",
    ];
    for (const s of steps) {
      entries[`${label}.p99At${s.cars}`] = [s.p99, "ms, as the cars saw it"];
      entries[`${label}.serverP99At${s.cars}`] = [
        s.serverP99,
        "ms or less, as the server timed it",
      ];
    }
  }
  entries.durable = [size.durable ? 1 : 0, "1 = PostgreSQL fsyncs every commit"];
  entries.heartbeatEveryMs = [size.heartbeatEveryMs, "ms between a car's heartbeats"];
  return figures(entries);
}
