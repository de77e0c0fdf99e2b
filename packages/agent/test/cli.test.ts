// `nightshift agent`, as a person runs it: a few cars against a real server finish a job, print
// a live line and a final summary, and stop cleanly on SIGINT.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { CLI_BIN } from "@nightshift/server-testkit/serve";
import { until } from "@nightshift/testkit/waits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounting, startTestServer, type TestServer, tinyInputs, waitForJobs } from "./server";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

function runAgent(args: string[]) {
  const child = spawn(process.execPath, [CLI_BIN, "agent", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe("nightshift agent", () => {
  it("runs cars until SIGINT, then hands back leases and prints a final JSON summary", async () => {
    const { jobId } = await server.tenant.tenant.jobs.submit.mutate({
      modelId: "tiny-mlp",
      inputs: tinyInputs(100, 3),
      replication: 1,
    });
    const agent = runAgent([
      "--cars",
      "4",
      "--server",
      server.url,
      "--code",
      server.code,
      "--always-parked",
      "--json",
      "--seed",
      "9",
    ]);
    expect(await waitForJobs(server.tenant, [jobId])).toBe(true);
    // Let a live line come out, then stop as a person would.
    await until("a live line", () => agent.out().includes("tasksPerS"));
    agent.child.kill("SIGINT");
    expect(await agent.exited).toBe(0);
    const lines = agent
      .out()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-2)).toHaveProperty("tasksPerS");
    const final = lines.at(-1)!;
    expect(final).toMatchObject({
      final: true,
      cars: 4,
      enrolled: 4,
      acknowledged: 100,
      outbox: 0,
    });
    expect(await accounting(server.pool, [jobId])).toMatchObject({
      tasks: 100,
      valid: 100,
      active: 0,
    });
  });

  it("stops after --duration, with a summary for people", async () => {
    const agent = runAgent([
      "--cars",
      "2",
      "--url",
      server.url,
      "--duration",
      "2",
      "--speedup",
      "60",
    ]);
    expect(await agent.exited).toBe(0);
    expect(agent.out()).toMatch(/2 cars on http:\/\/127\.0\.0\.1:\d+ for \d+\.\d s/);
    expect(agent.out()).toMatch(/enrolled\s+2/);
  });

  it("says so when the server cannot be reached, and when a flag is wrong", async () => {
    const unreachable = runAgent(["--server", "http://127.0.0.1:9", "--duration", "1"]);
    expect(await unreachable.exited).toBe(1);
    expect(unreachable.err()).toMatch(/cannot reach the server at http:\/\/127\.0\.0\.1:9/);
    const wrong = runAgent(["--cars", "0"]);
    expect(await wrong.exited).toBe(2);
    expect(wrong.err()).toMatch(/--cars must be an integer between 1 and 10000, got "0"/);
  });

  it("stops with an error when no car can enroll (a wrong code)", async () => {
    const agent = runAgent(["--server", server.url, "--code", "NOT-A-CODE", "--duration", "30"]);
    expect(await agent.exited).toBe(1);
    expect(agent.err()).toMatch(/no car could enroll/);
  });
});
