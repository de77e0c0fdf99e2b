// The system under test: one PostgreSQL this process owns (so that it can be stopped and started
// again mid-load), and N `nightshift serve` processes on it, each as an operator would run it:
// the first with --demo (the demo's tenants, operator and codes), the others on what it seeded.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createPool } from "@nightshift/db/client";
import { type EmbeddedPostgres, pgDataDir, startEmbedded } from "@nightshift/db/embedded";
import {
  parseDemo,
  type ServeProcess,
  spawnServe,
  tempDir,
} from "@nightshift/server-testkit/serve";

type Pool = ReturnType<typeof createPool>;

export interface Cluster {
  servers: (ServeProcess | undefined)[];
  urls: string[];
  databaseUrl: string;
  /** A pool of this process's own, for the checks (not the servers'). */
  pool: Pool;
  tenantKeys: Map<string, string>;
  operator: { email: string; password: string };
  /**
   * The demo fleet's code: its cars' owners are vouched for, so that they count as independent
   * replicas. Strangers enroll with PUBLIC_DEMO_CODE.
   */
  enrollmentCode: string;
  /** kill -9 of server i: no drain, no goodbye. */
  kill(i: number): Promise<void>;
  /** Starts server i again on its port. */
  restart(i: number): Promise<void>;
  /**
   * PostgreSQL goes down, as in a crash (immediate shutdown: no checkpoint, recovery from the
   * WAL at the next start), stays down until `whileDown` resolves, and comes back on the same
   * port; `downMs` is how long it was away, stop to ready.
   */
  restartDatabase(whileDown: () => Promise<void>): Promise<{ downMs: number }>;
  /** The two halves of restartDatabase. */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(opts: {
  instances: number;
  env?: Record<string, string>;
  /** fsync and synchronous commit (default true): false trades crash safety for speed. */
  durable?: boolean;
}): Promise<Cluster> {
  const durable = opts.durable ?? true;
  const dir = tempDir("nightshift-reliability-");
  const dataDir = join(dir, "db");
  // Durable: fsync and synchronous commit on, as in production. Without them a crash may lose
  // commits the server already acknowledged, which is exactly what the crash test looks for.
  let db: EmbeddedPostgres = await startEmbedded({
    dataDir,
    durable,
    settings: { max_connections: 200 },
  });
  const port = db.port;
  const servers: (ServeProcess | undefined)[] = [];
  const argsOf = (i: number) => ["--database-url", db.url, ...(i === 0 ? ["--demo"] : [])];
  const env = { LOG_LEVEL: "warn", ...opts.env };
  try {
    for (let i = 0; i < opts.instances; i++) {
      servers.push(await spawnServe(["--port", "0", ...argsOf(i)], { env }));
    }
  } catch (error) {
    for (const s of servers) await s?.stop();
    await db.stop();
    throw error;
  }
  const urls = servers.map((s) => s!.url);
  const demo = parseDemo(servers[0]!.banner);
  const pool = createPool(db.url, { max: 4 });

  const stopDatabase = async () => {
    const pid = Number(
      readFileSync(join(pgDataDir(dataDir), "postmaster.pid"), "utf8").split("\n", 1)[0],
    );
    // SIGQUIT: PostgreSQL's immediate shutdown, every session cut, no checkpoint.
    process.kill(pid, "SIGQUIT");
    await db.stop();
  };
  const startDatabase = async () => {
    db = await startEmbedded({ dataDir, port, durable, settings: { max_connections: 200 } });
  };

  return {
    servers,
    urls,
    databaseUrl: db.url,
    pool,
    tenantKeys: demo.tenantKeys,
    operator: { email: demo.email, password: demo.password },
    enrollmentCode: demo.enrollmentCode,
    async kill(i) {
      const s = servers[i];
      if (!s) return;
      s.child.kill("SIGKILL");
      await s.exited;
      servers[i] = undefined;
    },
    async restart(i) {
      const port = new URL(urls[i]!).port;
      servers[i] = await spawnServe(["--port", port, ...argsOf(i)], { env });
    },
    stopDatabase,
    startDatabase,
    async restartDatabase(whileDown) {
      const startedAt = performance.now();
      await stopDatabase();
      try {
        await whileDown();
      } finally {
        await startDatabase();
      }
      return { downMs: Math.round(performance.now() - startedAt) };
    },
    async stop() {
      await pool.end().catch(() => {});
      for (const s of servers) await s?.stop();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
