// A real `nightshift serve --demo` for the agent's tests: embedded PostgreSQL in a temporary
// folder, the demo tenants and fleet code, and a pool on its database for checking what it stored.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { createPool } from "@nightshift/db/client";
import {
  parseDemo,
  type ServeProcess,
  spawnServe,
  tempDir,
} from "@nightshift/server-testkit/serve";
import { untilDone } from "@nightshift/testkit/waits";
import type { Pool } from "pg";
import { createTwin, type Twin } from "../src/twin";

export interface TestServer {
  serve: ServeProcess;
  url: string;
  dataDir: string;
  /** The demo operator's sign-in. */
  operator: { email: string; password: string };
  /** The demo fleet's enrollment code: its cars' owners are vouched for, independent replicas. */
  code: string;
  pool: Pool;
  tenant: NightshiftClient;
  /** SIGTERM, then the same data folder and port again. */
  restart(): Promise<void>;
  /** SIGTERM: the server is away until `start`. */
  stop(): Promise<void>;
  /** The stopped server again, on the same data folder and port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A server on a fresh data folder; `env` adds to its environment (NIGHTSHIFT_SPEEDUP …). */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const root = tempDir("nightshift-agent-test-");
  const dataDir = join(root, "data");
  const args = ["--data", dataDir, "--demo", "--print-database-url"];
  let serve = await spawnServe(["--port", "0", ...args], { env });
  const demo = parseDemo(serve.banner);
  const [, key] = [...demo.tenantKeys][0]!;
  const pool = createPool(serve.databaseUrl!);
  const server: TestServer = {
    serve,
    url: serve.url,
    dataDir,
    operator: { email: demo.email, password: demo.password },
    code: demo.enrollmentCode,
    pool,
    tenant: createNightshiftClient({ url: serve.url, credential: key }),
    async restart() {
      await server.stop();
      await server.start();
    },
    async stop() {
      await serve.stop();
    },
    async start() {
      const port = new URL(serve.url).port;
      // The port was just freed; another process may take it in between (rare): try a few times.
      for (let attempt = 0; ; attempt++) {
        try {
          serve = await spawnServe(["--port", port, ...args], { env });
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(500);
        }
      }
      server.serve = serve;
      // The embedded PostgreSQL may come back on another port.
      await server.pool.end().catch(() => undefined);
      server.pool = createPool(serve.databaseUrl!);
    },
    async close() {
      await server.pool.end().catch(() => undefined);
      await serve.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return server;
}

/** A car that stays parked and plugged in (the tests decide when it drives). */
export function parkedTwin(_index: number, nowMs: number): Twin {
  return createTwin({ nowMs, socPct: 80, pluggedIn: true, chargerKW: 11 });
}

/**
 * Waits until every job has finished (completed, failed or cancelled) and returns true. However
 * slow the machine, it waits while tasks keep getting done; it throws only when none has been
 * decided for the testkit's hang guard.
 */
export async function waitForJobs(
  tenant: NightshiftClient,
  jobIds: readonly string[],
): Promise<true> {
  await untilDone(
    `jobs ${jobIds.join(", ")} to finish`,
    () => Promise.all(jobIds.map((jobId) => tenant.tenant.jobs.get.query({ jobId }))),
    {
      done: (jobs) => jobs.every((j) => j.status !== "queued" && j.status !== "running"),
      progress: (jobs) => jobs.reduce((n, j) => n + j.tasksValidated + j.tasksFailed, 0),
    },
  );
  return true;
}

/** Tiny-mlp inputs: one [1, 16] tensor per task, distinct per task. */
export function tinyInputs(n: number, salt: number): { x: { dims: number[]; data: number[] } }[] {
  return Array.from({ length: n }, (_, i) => ({
    x: {
      dims: [1, 16],
      data: Array.from({ length: 16 }, (_, j) => ((i * 31 + j * 7 + salt) % 17) / 8 - 1),
    },
  }));
}

/** Counts that show each task validated exactly once and nothing left held. */
export async function accounting(pool: Pool, jobIds: readonly string[]) {
  const { rows } = await pool.query<{
    tasks: number;
    valid: number;
    verifications: number;
    results: number;
    ledger: number;
    active: number;
    open_units: number;
    jobs_completed: number;
  }>(
    `SELECT (SELECT count(*)::int FROM tasks WHERE job_id = ANY($1)) AS tasks,
            (SELECT count(*)::int FROM tasks WHERE job_id = ANY($1) AND status = 'valid') AS valid,
            (SELECT count(*)::int FROM verifications v JOIN tasks t ON t.id = v.task_id
              WHERE t.job_id = ANY($1) AND v.status = 'valid') AS verifications,
            (SELECT count(*)::int FROM results r JOIN leases l ON l.id = r.lease_id
               JOIN tasks t ON t.id = l.task_id WHERE t.job_id = ANY($1)) AS results,
            (SELECT count(*)::int FROM ledger_entries le JOIN leases l ON l.id = le.lease_id
               JOIN tasks t ON t.id = l.task_id WHERE t.job_id = ANY($1)) AS ledger,
            (SELECT count(*)::int FROM leases l JOIN tasks t ON t.id = l.task_id
              WHERE t.job_id = ANY($1) AND l.status = 'active') AS active,
            (SELECT count(*)::int FROM work_units WHERE job_id = ANY($1) AND status IN ('open', 'leased')) AS open_units,
            (SELECT count(*)::int FROM jobs WHERE id = ANY($1) AND status = 'completed') AS jobs_completed`,
    [jobIds],
  );
  return rows[0]!;
}
