// The operator's live streams over real HTTP: tRPC subscriptions as Server-Sent Events, read by
// tRPC's httpSubscriptionLink through the `eventsource` package (Node 20 has no EventSource),
// from a `nightshift serve` process: job progress as tasks validate, the stream's end when the
// job finishes, and fleet figures until the server shuts down.
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { AppRouter } from "@nightshift/api/router";
import { runTiny } from "@nightshift/api/seed";
import { createNightshiftClient, trpcUrl } from "@nightshift/client/client";
import { tinyInputs, xOf } from "@nightshift/server-testkit/cars";
import {
  PARKED,
  parseDemo,
  type ServeProcess,
  spawnServe,
  STALL_MS,
  tempDir,
} from "@nightshift/server-testkit/serve";
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClientError,
} from "@trpc/client";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const tmp = tempDir();
/** An event stream that held shutdown up would run into it: "drain timed out" in the log. */
const DRAIN_TIMEOUT_MS = 20_000;
let server: ServeProcess;
let demo: ReturnType<typeof parseDemo>;

/** A client whose subscriptions go over SSE, with the credential on every request. */
function streamingClient(url: string, credential: string) {
  const authorization = `Bearer ${credential}`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: trpcUrl(url),
          EventSource,
          // EventSource itself sends no headers; the package's fetch hook adds ours.
          eventSourceOptions: () => ({
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, authorization } }),
          }),
        }),
        false: httpBatchLink({ url: trpcUrl(url), headers: { authorization } }),
      }),
    ],
  });
}

/** A subscription's events as a queue the test awaits, with how it ended. */
function recorder<T>() {
  const items: T[] = [];
  const waiting: (() => void)[] = [];
  const states: { state: string; error: string | null }[] = [];
  let ended: "complete" | { error: unknown } | null = null;
  const wake = () => waiting.splice(0).forEach((w) => w());
  return {
    items,
    states,
    ended: () => ended,
    handlers: {
      onData: (item: T) => {
        items.push(item);
        wake();
      },
      onComplete: () => {
        ended = "complete";
        wake();
      },
      onError: (error: unknown) => {
        ended = { error };
        wake();
      },
      onConnectionStateChange: (s: { state: string; error: TRPCClientError<AppRouter> | null }) => {
        states.push({ state: s.state, error: s.error?.message ?? null });
        wake();
      },
    },
    /**
     * Waits until `ok` holds, checked on every event. No deadline: it fails only when the
     * stream has been silent (no event of any kind) for STALL_MS, a hang guard.
     */
    async until(ok: () => boolean): Promise<void> {
      while (!ok()) {
        const event = new Promise<boolean>((r) => waiting.push(() => r(true)));
        if (!(await Promise.race([event, sleep(STALL_MS).then(() => false)])))
          throw new Error(
            `no event for ${STALL_MS / 1000} s; last: ${JSON.stringify(items.slice(-2))}`,
          );
      }
    },
  };
}

let operatorToken: string;

beforeAll(async () => {
  server = await spawnServe(["--port", "0", "--data", tmp, "--demo"], {
    env: { NIGHTSHIFT_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS) },
  });
  demo = parseDemo(server.banner);
  const session = await createNightshiftClient({ url: server.url }).operator.auth.signIn.mutate({
    email: demo.email,
    password: demo.password,
  });
  operatorToken = session.token;
});

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("operator streams over SSE", () => {
  it("sends a job's progress as each task validates, and ends when the job completes", async () => {
    const TASKS = 3;
    const [, key] = [...demo.tenantKeys][0]!;
    const tenant = createNightshiftClient({ url: server.url, credential: key });
    const { jobId } = await tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
      ]),
      replication: 1,
    });
    const enrolled = await createNightshiftClient({ url: server.url }).node.enroll.mutate({
      code: demo.enrollmentCode,
    });
    const car = createNightshiftClient({ url: server.url, credential: enrolled.credential });

    const operator = streamingClient(server.url, operatorToken);
    const events = recorder<{ status: string; tasksValidated: number; progress: number }>();
    const sub = operator.operator.jobs.watch.subscribe({ jobId, intervalMs: 250 }, events.handlers);
    try {
      await events.until(() => events.items.length >= 1);
      expect(events.items[0]).toMatchObject({ status: "queued", tasksValidated: 0 });

      // One task at a time: each validation shows up as its own event.
      for (let k = 1; k <= TASKS; k++) {
        // Parked, as the car says before each lease: however long the events took to come, it
        // has not gone silent past the server's heartbeat timeout.
        await car.node.heartbeat.mutate(PARKED);
        const [task] = (await car.node.lease.mutate({ max: 1 })).tasks;
        const answer = await car.node.submit.mutate({
          leaseId: task!.leaseId,
          output: runTiny(xOf(task!.input)),
          durationMs: 5,
          backend: "native",
        });
        expect(answer.verdict).toBe("valid");
        await events.until(() => events.items.at(-1)!.tasksValidated === k);
      }
      await events.until(() => events.ended() !== null);
      expect(events.ended()).toBe("complete");
      expect(events.items.map((e) => [e.status, e.tasksValidated])).toEqual([
        ["queued", 0],
        // The first lease starts the job: seen running with 0 or, if the poll came later, 1.
        ...(events.items[1]!.tasksValidated === 0 ? [["running", 0]] : []),
        ["running", 1],
        ["running", 2],
        ["completed", 3],
      ]);
      expect(events.items.at(-1)!.progress).toBe(1);
      expect(events.states.filter((s) => s.error !== null)).toEqual([]);
    } finally {
      sub.unsubscribe();
    }
  });

  it("streams fleet figures until the server shuts down, which ends the stream at once", async () => {
    const operator = streamingClient(server.url, operatorToken);
    const events = recorder<{ at: string; cars: { byState: { parked: number } } }>();
    const sub = operator.operator.fleet.watch.subscribe({ intervalMs: 250 }, events.handlers);
    // A second console watching: the instance computes one summary a second for both.
    const other = recorder<{ at: string }>();
    const second = operator.operator.fleet.watch.subscribe({ intervalMs: 250 }, other.handlers);
    try {
      await events.until(() => events.items.length >= 4);
      await other.until(() => other.items.length >= 4);
      second.unsubscribe();
      // One summary a second for both: distinct summaries were computed at least a second apart
      // (WATCH_SHARE_MS in packages/api/src/services/fleet.ts), by the server's own stamps,
      // however fast the figures came. Computed per subscriber or per figure, two would be a
      // quarter of a second apart or less. (10 ms of slack for the two clocks it reads.)
      const computed = [...new Set([...events.items, ...other.items].map((e) => Date.parse(e.at)))];
      computed.sort((a, b) => a - b);
      const gapsMs = computed.slice(1).map((at, i) => at - computed[i]!);
      expect(gapsMs.filter((ms) => ms < 990)).toEqual([]);
      const parkedBefore = events.items.at(-1)!.cars.byState.parked;
      // A car parks: every figure computed after its heartbeat was answered counts it. (The
      // server runs on this machine: its stamps and this process read one wall clock.)
      const enrolled = await createNightshiftClient({ url: server.url }).node.enroll.mutate({
        code: demo.enrollmentCode,
      });
      await createNightshiftClient({
        url: server.url,
        credential: enrolled.credential,
      }).node.heartbeat.mutate(PARKED);
      const parkedAt = Date.now();
      const after = () => events.items.filter((e) => Date.parse(e.at) > parkedAt);
      await events.until(() => after().length > 0);
      expect(after().map((e) => e.cars.byState.parked)).toEqual(
        after().map(() => parkedBefore + 1),
      );

      const stoppingAt = performance.now();
      server.child.kill("SIGTERM");
      // The stream is cut at once: the client notices and goes back to connecting (it would
      // reconnect to another instance); the server does not wait for it to leave: had it
      // waited, it would have logged that its drain timed out (checked below), however long
      // either took.
      await events.until(() => events.states.at(-1)?.state === "connecting");
      expect(events.states.at(-1)!.error).not.toBeNull();
      expect(await server.exited).toBe(0);
      const stopMs = performance.now() - stoppingAt;
      console.log(
        `fleet stream: ${events.items.length} figures; cut on SIGTERM (client: ` +
          `${events.states.at(-1)!.error}); server exited ${Math.round(stopMs)} ms after it`,
      );
      const log = server.stderr();
      expect(log).toContain("server stopped");
      expect(log).not.toContain("drain timed out");
      expect(log).not.toMatch(/"level":(50|60)/);
      expect(events.ended()).toBeNull();
    } finally {
      sub.unsubscribe();
    }
  });
});
