// For tests: `nightshift serve` in a child process, as an operator would run it, with what it
// printed on stdout (the URL, the database URL, the demo credentials) parsed; and STALL_MS, the
// one hang guard the server and fleet tests share.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HANG_MS } from "@nightshift/testkit/waits";

/**
 * The repository's root. The kit runs the CLI from the repository (apps/cli/bin) rather than
 * importing it: the CLI's own tests use this kit, and a package cannot depend on what depends on it.
 */
const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * How long a test waits for something that makes no progress (a fleet whose calls get no answer,
 * jobs that stop moving, a server that neither starts nor exits) before it fails: a hang guard,
 * not a time budget. A run that is merely slow keeps progressing and passes; minutes without a
 * single answer mean something is stuck. Vitest's timeouts, longer still, are the last guard.
 */
export const STALL_MS = HANG_MS;

/**
 * The public code of a demo server (`serve --demo`): anyone may enroll with it, and each car's
 * owner is a stranger, so its cars alone validate no replicated work. A fleet that needs
 * independent owners enrolls with the demo's fleet code (parseDemo's enrollmentCode).
 */
export const PUBLIC_DEMO_CODE = "DEMO-NIGHTSHIFT";

/** A heartbeat of a car parked and plugged in, free to take work. */
export const PARKED = {
  state: "parked",
  socPct: 80,
  pluggedIn: true,
  chargerKW: 7.4,
  predictedDepartureAt: null,
  batteryTempC: 20,
} as const;

/** A heartbeat of a car that drives off: its leases are handed back at once. */
export const DRIVING = {
  state: "driving",
  socPct: 78,
  pluggedIn: false,
  chargerKW: 0,
  predictedDepartureAt: null,
} as const;

export const CLI_BIN = join(REPO_ROOT, "apps", "cli", "bin", "nightshift.js");

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Set when started with --print-database-url. */
  databaseUrl?: string;
  /** Every stdout line before `listening on …`. */
  banner: string[];
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /**
   * SIGTERM, then the exit; SIGKILL if it takes longer than `timeoutMs` (15 s: a clean-up for
   * after the tests; a test that checks the exit code passes STALL_MS, so that a slow drain is
   * not turned into a failure).
   */
  stop(timeoutMs?: number): Promise<number | string>;
}

/**
 * A fresh folder for test data. Mode 0755: as root the embedded PostgreSQL runs as the user
 * `postgres`, which must be able to walk into it.
 */
export function tempDir(prefix = "nightshift-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Starts `nightshift serve` and resolves once it prints `listening on …`; rejects when it exits
 * first, or after `startTimeoutMs` (STALL_MS unless given: a hang guard, since PostgreSQL's first
 * start and the migrations take a while on a busy machine).
 */
export async function spawnServe(
  args: string[],
  opts: { env?: Record<string, string | undefined>; startTimeoutMs?: number } = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI_BIN, "serve", ...args], {
    cwd: REPO_ROOT,
    // No canaries unless a test asks (NIGHTSHIFT_CANARY_RATE): they add leases and results that
    // tests counting exact totals would have to tell apart.
    env: { ...process.env, LOG_LEVEL: "info", NIGHTSHIFT_CANARY_RATE: "0", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);

  const banner: string[] = [];
  let databaseUrl: string | undefined;
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not start in time; stderr:\n${stderr}`));
    }, opts.startTimeoutMs ?? STALL_MS);
    lines.on("line", (line) => {
      const listening = /^listening on (\S+)$/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
        return;
      }
      const db = /^database-url (\S+)$/.exec(line);
      if (db) databaseUrl = db[1];
      banner.push(line);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening; stderr:\n${stderr}`));
    });
  });

  return {
    child,
    url,
    databaseUrl,
    banner,
    stderr: () => stderr,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The demo credentials `serve --demo` printed (`demo operator …`, `demo tenant-key …`, `demo
 * enrollment-code …`), if it made them ("" and none where it did not).
 */
export function parseDemo(banner: readonly string[]): {
  email: string;
  password: string;
  tenantKeys: Map<string, string>;
  /** The demo fleet's code: its cars' owners are vouched for, independent of each other. */
  enrollmentCode: string;
} {
  const operator = banner.find((l) => l.startsWith("demo operator "))?.split(" ");
  const tenantKeys = new Map(
    banner
      .filter((l) => l.startsWith("demo tenant-key "))
      .map((l) => l.split(" "))
      .map(([, , id, key]) => [id!, key!]),
  );
  const code = banner.find((l) => l.startsWith("demo enrollment-code "))?.split(" ")[2];
  return {
    email: operator?.[2] ?? "",
    password: operator?.[3] ?? "",
    tenantKeys,
    enrollmentCode: code ?? "",
  };
}
