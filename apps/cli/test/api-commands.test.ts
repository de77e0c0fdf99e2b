// The API commands (login, tenants, jobs) against a real server: `nightshift serve` in a child
// process on an embedded PostgreSQL, and each command run as a user would run it.
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { tinyInput } from "@nightshift/api/seed";
import { type ServeProcess, spawnServe, tempDir } from "@nightshift/server-testkit/serve";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli";

const tmp = tempDir("nightshift-cli-");
let server: ServeProcess;
let operator: { email: string; password: string };
/** No NIGHTSHIFT_* from the machine running the tests. */
const clean = { NIGHTSHIFT_URL: undefined, NIGHTSHIFT_KEY: undefined };

function inputsFile(name: string, inputs: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(inputs));
  return path;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  server = await spawnServe(["--port", "0", "--data", join(tmp, "db"), "--demo"]);
  const line = server.banner.find((l) => l.startsWith("demo operator "))!.split(" ");
  operator = { email: line[2]!, password: line[3]! };
});

afterAll(async () => {
  await server?.stop();
});

describe("operator and tenant commands", () => {
  let token: string;
  let tenantKey: string;
  let jobId: string;

  it("login prints a session token", async () => {
    const run = await runCli(
      ["login", "--email", operator.email, "--password", operator.password, "--url", server.url],
      { env: clean },
    );
    expect(run.code).toBe(0);
    token = run.stdout.trim();
    expect(token).toMatch(/^nso_\S+$/);
  });

  it("tenants create prints the new tenant's key once; set-quota changes it; list shows it", async () => {
    const env = { ...clean, NIGHTSHIFT_URL: server.url, NIGHTSHIFT_KEY: token };
    const created = await runCli(
      ["tenants", "create", "newco", "--name", "New Co", "--quota", "0.1"],
      {
        env,
      },
    );
    expect(created.code).toBe(0);
    tenantKey = created.stdout.trim();
    expect(tenantKey).toMatch(/^nsk_\S+$/);
    expect(created.stderr).toContain("shown only once");

    const set = await runCli(
      [
        "tenants",
        "set-quota",
        "newco",
        "--quota",
        "0.25",
        "--weight",
        "2",
        "--lending-limit",
        "none",
      ],
      { env },
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(
      "newco: quota 25%, weight 2, borrowing limit none, lending limit none\n",
    );

    const [table, json] = await Promise.all([
      runCli(["tenants", "list"], { env }),
      runCli(["tenants", "list", "--json"], { env }),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/newco\s+│\s+New Co\s+│\s+25%\s+│\s+2\s+│/);
    expect(table.stdout).toContain("acme-vision");
    const newco = JSON.parse(json.stdout).find((t: { id: string }) => t.id === "newco");
    expect(newco).toMatchObject({ name: "New Co", quotaShare: 0.25, weight: 2, keys: 1 });
  });

  it("jobs submit, status, results and cancel, with the tenant's key", async () => {
    const env = { ...clean, NIGHTSHIFT_URL: server.url, NIGHTSHIFT_KEY: tenantKey };
    const inputs = inputsFile("inputs.json", [tinyInput([1, 2, 3, 4]), tinyInput([4, 3, 2, 1])]);
    const submitted = await runCli(
      [
        "jobs",
        "submit",
        "--model",
        "tiny-mlp",
        "--inputs",
        inputs,
        "--replication",
        "1",
        "--objective",
        "cleanest",
      ],
      { env },
    );
    expect(submitted.code).toBe(0);
    jobId = submitted.stdout.trim();
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(submitted.stderr).toContain("Submitted: 2 task(s)");

    const [status, results] = await Promise.all([
      runCli(["jobs", "status", jobId], { env }),
      runCli(["jobs", "results", jobId, "--limit", "1"], { env }),
    ]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^status\s+queued$/m);
    expect(status.stdout).toMatch(/^progress\s+0\.0% \(0 valid, 0 failed, 2 tasks\)$/m);
    expect(status.stdout).toMatch(/^objective\s+cleanest$/m);
    expect(results.code).toBe(0);
    // Two pages of one, followed to the end: one JSON line per task.
    expect(
      results.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { seq: 0, status: "open" },
      { seq: 1, status: "open" },
    ]);

    const cancelled = await runCli(["jobs", "cancel", jobId], { env });
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe("cancelled\n");
    const after = await runCli(["jobs", "status", jobId, "--json"], { env });
    expect(JSON.parse(after.stdout)).toMatchObject({
      id: jobId,
      status: "cancelled",
      objective: "cleanest",
    });
  });
});

describe.concurrent("refusals and mistakes", () => {
  it("a server refusal exits 1 with the server's reason", async () => {
    const env = { ...clean, NIGHTSHIFT_URL: server.url };
    const [unknownKey, unknownModel] = await Promise.all([
      runCli(["jobs", "status", "00000000-0000-4000-8000-000000000000", "--key", "nsk_wrong"], {
        env,
      }),
      runCli(
        [
          "jobs",
          "submit",
          "--model",
          "no-such-model",
          "--inputs",
          inputsFile("one.json", [{ x: { dims: [1], data: [1] } }]),
          "--key",
          [...server.banner].find((l) => l.startsWith("demo tenant-key "))!.split(" ")[3]!,
        ],
        { env },
      ),
    ]);
    expect(unknownKey.code).toBe(1);
    expect(unknownKey.stderr).toMatch(/^error: UNAUTHORIZED: .*--key or NIGHTSHIFT_KEY/);
    expect(unknownModel.code).toBe(1);
    expect(unknownModel.stderr).toMatch(/^error: NOT_FOUND: .*modelId/);
  });

  it("an unreachable server exits 1 saying so", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(["tenants", "list", "--url", url, "--key", "nso_x"], { env: clean });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: cannot reach the server at ${url}: ECONNREFUSED`);
  });

  // Every flag's checks are in flags-api.test.ts (in-process, fast); these check the exit code
  // and that nothing reaches stdout.
  it.each([
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--priority", "10"],
      /--priority must be an integer between 0 and 9, got "10"/,
    ],
    [["tenants", "list", "--key", "k", "--bogus"], /unknown option '--bogus'/],
    [["serve", "--port", "70000"], /--port must be an integer between 0 and 65535, got "70000"/],
  ])("%j exits 2 naming the flag", async (args, message) => {
    const run = await runCli(args, { env: clean });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  it("a bad NIGHTSHIFT_URL exits 2 naming the variable", async () => {
    const run = await runCli(["tenants", "list", "--key", "k"], {
      env: { ...clean, NIGHTSHIFT_URL: "not a url" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: NIGHTSHIFT_URL: /);
  });

  it("a bad server variable stops serve with exit 2 naming it", async () => {
    const run = await runCli(["serve", "--port", "0"], {
      env: { NIGHTSHIFT_CORS_ORIGINS: "nope" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: invalid environment: NIGHTSHIFT_CORS_ORIGINS/);
  });
});
