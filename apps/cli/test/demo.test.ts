// The one-command demo as a user runs it (`npm start` runs `nightshift demo` after building the
// console and the vehicle page): everything comes up on the addresses it prints, the headless
// fleet and the demo workload get work done, Ctrl-C stops it all, and the next start finds the
// same data and still prints the operator's sign-in.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchChromium } from "@nightshift/browser/chromium";
import { createNightshiftClient } from "@nightshift/client/client";
import { tempDir } from "@nightshift/server-testkit/serve";
import { HANG_MS, until } from "@nightshift/testkit/waits";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_DIR, REPO_ROOT, runCli } from "./run-cli";

const BIN = join(CLI_DIR, "bin", "nightshift.js");
const home = tempDir("nightshift-demo-");
const running: ChildProcess[] = [];

// A demo still running after a failed test is stopped as a user would (Ctrl-C), so that it stops
// its embedded PostgreSQL too; SIGKILL only if it has not exited in 30 s.
afterAll(async () => {
  await Promise.all(
    running
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map(async (child) => {
        const exited = once(child, "exit");
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(timer);
      }),
  );
});

interface Demo {
  child: ChildProcess;
  lines: string[];
  /** The value after a banner label, e.g. "Console". */
  field(label: string): string;
}

async function startDemo(extra: string[] = []): Promise<Demo> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "demo",
      "--data",
      home,
      "--port",
      "0",
      "--console-port",
      "0",
      "--vehicle-port",
      "0",
      // Enough cars that a quorum of untrusted ones (three agreeing, on the workload's auto
      // jobs) can form among those their owners let work (a third of the default scenario's).
      "--cars",
      "20",
      // The cars' day at a fixed hour and at the wall clock's pace: whether they are parked
      // does not depend on when the test runs or how fast the machine is.
      "--start",
      "2026-06-03T02:00",
      "--speedup",
      "1",
      ...extra,
    ],
    { cwd: CLI_DIR, env: { ...process.env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  running.push(child);
  const lines: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      lines.push(...parts);
      if (parts.some((l) => l.startsWith("Ctrl-C stops everything"))) resolve();
    });
    child.once("exit", (code) =>
      reject(
        new Error(`demo exited (${code}) before it was ready:\n${lines.join("\n")}\n${stderr}`),
      ),
    );
  });
  const field = (label: string) => {
    const line = lines.find((l) => l.trimStart().startsWith(label));
    if (!line) throw new Error(`no "${label}" line in:\n${lines.join("\n")}`);
    return line.trim().slice(label.length).trim().split(/\s+/)[0]!;
  };
  return { child, lines, field };
}

/** Ctrl-C; resolves with the exit code, or the signal that ended the process. */
async function stop(demo: Demo): Promise<number | string> {
  if (demo.child.exitCode !== null || demo.child.signalCode !== null) {
    return demo.child.exitCode ?? demo.child.signalCode ?? "unknown";
  }
  const exited = once(demo.child, "exit");
  demo.child.kill("SIGINT");
  const [code, signal] = (await exited) as [number | null, string | null];
  return code ?? signal ?? "unknown";
}

/** The demo's saved secrets. */
function readSecrets(): { enrollmentCode?: string } {
  return JSON.parse(readFileSync(join(home, "demo-credentials.json"), "utf8")) as {
    enrollmentCode?: string;
  };
}

/**
 * Runs `body` with a demo started with `args`, and stops the demo whatever happens (Ctrl-C), so
 * that a failing test leaves no PostgreSQL behind on the data folder for the next one.
 */
async function withDemo<T>(args: string[], body: (demo: Demo) => Promise<T>): Promise<T> {
  const demo = await startDemo(args);
  try {
    return await body(demo);
  } finally {
    await stop(demo);
  }
}

describe("nightshift demo", () => {
  let operator = "";

  it("brings up the server, console, vehicle page, fleet and workload; Ctrl-C stops them", async () => {
    const demo = await startDemo();
    let server = "";
    let exitCode: number | string;
    try {
      server = demo.field("Server");
      const consoleUrl = demo.field("Console");
      const vehicleUrl = demo.field("Vehicle page");
      const signIn = demo.lines.find((l) => l.trim().startsWith("sign in"))!;
      operator = signIn.trim().slice("sign in".length).trim();
      expect(operator).toMatch(/^operator@nightshift\.local \/ \S{12,}$/);
      expect(demo.lines.find((l) => l.trim().startsWith("Clock"))).toMatch(
        /1× \(a day in 24 hours\); the demo's world is at 2026-06-03 02:0\d UTC/,
      );

      expect((await fetch(`${server}/readyz`)).status).toBe(200);
      expect((await fetch(`${consoleUrl}/sign-in`)).status).toBe(200);
      const page = await fetch(vehicleUrl);
      expect(page.status).toBe(200);
      expect(page.headers.get("cross-origin-embedder-policy")).toBe("require-corp");

      // The secrets are kept for the next start, readable by this user only; with them the
      // fleet's own code (not the public DEMO-NIGHTSHIFT: its owners are vouched for).
      const secrets = join(home, "demo-credentials.json");
      expect(statSync(secrets).mode & 0o777).toBe(0o600);
      expect(readSecrets().enrollmentCode).toMatch(/^NS-/);

      // The tenant key it prints works with the CLI command it suggests.
      const key = demo.field("Tenant key");
      expect(key).toMatch(/^nsk_/);
      const submitted = await runCli(
        ["jobs", "submit", "--model", "ppocr-det", "--inputs", "examples/jobs/pages.json"],
        { cwd: REPO_ROOT, env: { NIGHTSHIFT_URL: server, NIGHTSHIFT_KEY: key } },
      );
      expect(submitted.stderr).toContain("Submitted: 4 task(s)");
      expect(submitted.code).toBe(0);

      // The workload's jobs get done by the headless fleet.
      const [email, password] = operator.split(" / ") as [string, string];
      const anonymous = createNightshiftClient({ url: server });
      const { token } = await anonymous.operator.auth.signIn.mutate({ email, password });
      const ops = createNightshiftClient({ url: server, credential: token });
      const validated = async () =>
        (await ops.operator.jobs.list.query({})).items.reduce((n, j) => n + j.tasksValidated, 0);
      await until("a validated task", async () => (await validated()) > 0, { pollMs: 500 });

      // As a user: sign in to the console, open the vehicle page in another tab, and watch the
      // fleet count the new car.
      const browser = await launchChromium();
      try {
        // Pages wait as long as the hang guard: on a busy machine a sign-in can take its time.
        const console = await browser.newPage();
        console.setDefaultTimeout(HANG_MS);
        await console.goto(`${consoleUrl}/fleet`);
        await console.waitForURL(/\/sign-in/);
        await console.getByLabel("Email").fill(email);
        await console.getByLabel("Password").fill(password);
        await console.getByRole("button", { name: "Sign in" }).click();
        await console.waitForURL(/\/fleet$/);
        const total = async () =>
          Number((await console.getByTestId("stat-total").innerText()).replace(/[^0-9]/g, ""));
        await until("the headless cars on the Fleet page", async () => (await total()) >= 20);
        const before = await total();
        const tab = await browser.newPage();
        tab.setDefaultTimeout(HANG_MS);
        await tab.goto(vehicleUrl);
        await until("the tab to enroll as a car", async () =>
          /[0-9a-f]{8}/.test(await tab.getByTestId("car-id").innerText()),
        );
        await until("the Fleet page to count the tab", async () => (await total()) === before + 1);
      } finally {
        await browser.close();
      }
    } finally {
      exitCode = await stop(demo);
    }
    expect(exitCode).toBe(0);
    expect(demo.lines).toContain("Stopped.");
    expect((await fetch(`${server}/healthz`).catch(() => null))?.status).toBeUndefined();
  });

  it("starts again on the same data, with the same sign-in; --reset starts fresh", async () => {
    expect(operator, "the first test signed in").not.toBe("");
    const { enrollmentCode: fleetCode, ...earlier } = readSecrets();
    await withDemo(["--no-workload"], async (again) => {
      expect(again.lines.find((l) => l.trim().startsWith("sign in"))!.trim()).toBe(
        `sign in     ${operator}`,
      );
      expect(readSecrets().enrollmentCode).toBe(fleetCode);
    });
    // Secrets saved by a release before fleet codes: the demo's operator makes one for its fleet.
    writeFileSync(join(home, "demo-credentials.json"), JSON.stringify(earlier));
    await withDemo(["--no-workload"], async (upgraded) => {
      expect(upgraded.field("Fleet")).toBe("20");
      expect(readSecrets().enrollmentCode).toMatch(/^NS-/);
      expect(readSecrets().enrollmentCode).not.toBe(fleetCode);
    });
    await withDemo(["--reset", "--no-workload", "--cars", "0"], async (fresh) => {
      const signIn = fresh.lines.find((l) => l.trim().startsWith("sign in"))!.trim();
      expect(signIn).not.toBe(`sign in     ${operator}`);
      expect(existsSync(join(home, "data"))).toBe(true);
    });
  });
});
