// The real CLI in a child process: flags, exit codes, what goes to stdout and what to stderr.
// Groups of quick runs go concurrently: most of each run is starting Node and tsx.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SCENARIO } from "@nightshift/core/sim/scenario";
import { describe, expect, it } from "vitest";
import { TENANT_HEADINGS } from "../src/format";
import { REPO_ROOT, runCli } from "./run-cli";

const SMALL = ["--vehicles", "200", "--hours", "6"];
const tmp = mkdtempSync(join(tmpdir(), "nightshift-cli-"));

function writeTmp(name: string, content: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

const hourly = (v: number) => Array.from({ length: 24 }, () => v);

describe("simulate --json", () => {
  it("prints the whole result as JSON with the documented shape, and nothing else", async () => {
    const run = await runCli(["simulate", ...SMALL, "--seed", "7", "--json"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    // JSON.parse of all of stdout fails if anything else was printed there.
    const result = JSON.parse(run.stdout);
    expect(Object.keys(result)).toEqual(["start", "summary", "series"]);
    // The default start: a January date, standard time in every default zone.
    expect(result.start).toBe("2025-01-15");
    const s = result.summary;
    expect(s).toMatchObject({ vehicles: 200, hours: 6, seed: 7 });
    for (const key of [
      "parkedShare",
      "pluggedShare",
      "eligibleShare",
      "tasksCompleted",
      "tasksLostToDepartures",
      "energyKWh",
      "gridEnergyKWh",
      "batteryEnergyKWh",
      "costUsd",
      "carbonKg",
      "ownerPayoutUsd",
      "referenceDatacenterMW",
      "minReserveMarginPct",
    ]) {
      expect(typeof s[key], key).toBe("number");
    }
    for (const share of [s.parkedShare, s.pluggedShare, s.eligibleShare]) {
      expect(share).toBeGreaterThan(0);
      expect(share).toBeLessThanOrEqual(1);
    }
    expect(s.availableKW).toEqual({
      peak: expect.any(Number),
      mean: expect.any(Number),
      min: expect.any(Number),
    });
    expect(s.availableKW.peak).toBeGreaterThanOrEqual(s.availableKW.mean);
    expect(s.availableKW.mean).toBeGreaterThanOrEqual(s.availableKW.min);
    expect(s.datacenterEquivalents).toEqual({ peak: expect.any(Number), mean: expect.any(Number) });
    expect(s.tenants.map((t: { id: string }) => t.id)).toEqual(
      DEFAULT_SCENARIO.tenants.map((t) => t.id),
    );
    for (const t of s.tenants) {
      expect(t).toMatchObject({
        id: expect.any(String),
        quotaShare: expect.any(Number),
        demandShare: expect.any(Number),
        deliveredShare: expect.any(Number),
      });
      expect(t.deadlineAttainment === null || typeof t.deadlineAttainment === "number").toBe(true);
    }
    // One sample every sampleS over 6 hours.
    expect(result.series).toHaveLength((6 * 3600) / DEFAULT_SCENARIO.sampleS);
    for (const sample of result.series) {
      expect(sample).toMatchObject({
        t: expect.any(Number),
        parked: expect.any(Number),
        plugged: expect.any(Number),
        eligible: expect.any(Number),
        availableKW: expect.any(Number),
        runningTasks: expect.any(Number),
        priceUsdPerKWh: expect.any(Number),
        carbonGPerKWh: expect.any(Number),
      });
    }
  });

  it("replays byte for byte from the same seed, and differs with another", async () => {
    const [a, b, c] = await Promise.all([
      runCli(["simulate", ...SMALL, "--seed", "11", "--json"]),
      runCli(["simulate", ...SMALL, "--seed", "11", "--json"]),
      runCli(["simulate", ...SMALL, "--seed", "12", "--json"]),
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout.length).toBeGreaterThan(1000);
    expect(b.stdout).toBe(a.stdout);
    expect(c.code).toBe(0);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it("starts on the date asked for: the same date replays, one across a DST change differs", async () => {
    // 8 March 2025 00:00 UTC: the US zones spring forward the next morning, inside 48 h.
    const args = ["simulate", "--vehicles", "200", "--hours", "48", "--seed", "3", "--json"];
    const [a, b, winter, explicitDefault] = await Promise.all([
      runCli([...args, "--start", "2025-03-08"]),
      runCli([...args, "--start", "2025-03-08"]),
      runCli([...args, "--start", "2025-03-01"]),
      runCli([...args, "--start", "2025-01-15"]),
    ]);
    const def = await runCli(args);
    for (const run of [a, b, winter, explicitDefault, def]) expect(run.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(JSON.parse(a.stdout).start).toBe("2025-03-08");
    // A week earlier nothing changes within the run: the same clocks as in January.
    const body = (out: string) => JSON.stringify({ ...JSON.parse(out), start: null });
    expect(body(winter.stdout)).toBe(body(def.stdout));
    expect(body(a.stdout)).not.toBe(body(def.stdout));
    expect(explicitDefault.stdout).toBe(def.stdout);
  });
});

describe("simulate, for people", () => {
  it("prints the summary table, the tenant table and the charts on stdout", async () => {
    const run = await runCli(["simulate", ...SMALL]);
    expect(run.code).toBe(0);
    // No progress bar: stderr is not a terminal here.
    expect(run.stderr).toBe("");
    for (const heading of [
      "RUN",
      "AVAILABILITY",
      "ENERGY AND MONEY",
      "CAPACITY",
      ...TENANT_HEADINGS,
    ]) {
      expect(run.stdout).toContain(heading);
    }
    expect(run.stdout).toContain("200");
    expect(run.stdout).toContain("6 h, seed 1");
    expect(run.stdout).toContain("Available compute power");
    expect(run.stdout).toMatch(/┤/);
    expect(run.stdout).toContain("hours (UTC)");
    expect(Math.max(...run.stdout.split("\n").map((l) => [...l].length))).toBeLessThanOrEqual(100);
  });
});

describe.concurrent("bad flags", () => {
  it.each([
    [["--bogus"], /unknown option '--bogus'/],
    [["--vehicles", "-5"], /--vehicles must be an integer between 0 and 5000000, got "-5"/],
    [["--vehicles", "abc"], /--vehicles must be an integer between 0 and 5000000, got "abc"/],
    [["--vehicles", "5000001"], /--vehicles must be an integer/],
    [["--hours", "0"], /--hours must be a number greater than 0 and at most 336, got "0"/],
    [["--hours", "337"], /--hours must be a number greater than 0/],
    [["--seed", "1.5"], /--seed must be an integer/],
    [["--vehicles"], /--vehicles/],
    [["--start", "2025-02-30"], /--start must be a date as YYYY-MM-DD, got "2025-02-30"/],
    [["--start", "tomorrow"], /--start must be a date as YYYY-MM-DD, got "tomorrow"/],
  ])("simulate %j exits 2 naming the flag, printing nothing on stdout", async (args, message) => {
    const run = await runCli(["simulate", ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  it("--version prints the version and exits 0", async () => {
    const run = await runCli(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^nightshift \d+\.\d+\.\d+\n$/);
    expect((await runCli(["-v"])).stdout).toBe(run.stdout);
  });

  it("an unknown command is an error", async () => {
    const run = await runCli(["simulat"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("unknown command 'simulat'");
  });
});

describe.concurrent("scenario files", () => {
  it.each([
    [
      "a wrong type at a nested field",
      { mobility: { batteryKWh: { min: "big" } } },
      "mobility.batteryKWh.min:",
    ],
    [
      "an unknown tenant in a workload stream",
      {
        workload: {
          streams: [
            {
              tenantId: "nobody",
              modelId: DEFAULT_SCENARIO.models[0]?.id,
              demandShare: 1,
              jobCarHours: 10,
              priority: 1,
              deadlineH: 6,
              replication: "auto",
              hourlyProfile: hourly(1),
            },
          ],
        },
      },
      'workload.streams[0].tenantId: unknown tenant "nobody"',
    ],
    [
      "a tariff with a gap",
      {
        regions: [
          {
            id: "solo",
            name: "Solo",
            timeZone: "UTC",
            fleetShare: 1,
            tariff: [
              { start: 0, end: 6, priceUsdPerKWh: 0.1 },
              { start: 7, end: 24, priceUsdPerKWh: 0.2 },
            ],
            carbonGPerKWh: hourly(100),
          },
        ],
      },
      "regions[0].tariff: tariff has a gap from 06:00 to 07:00",
    ],
    ["an unknown key", { mobility: { commutr: 0.5 } }, 'mobility: Unrecognized key: "commutr"'],
    [
      "an unknown time zone",
      { regions: [{ ...DEFAULT_SCENARIO.regions[0], timeZone: "America/Atlantis" }] },
      'regions[0].timeZone: unknown time zone "America/Atlantis"',
    ],
    [
      "the retired utcOffsetH",
      {
        regions: [{ ...DEFAULT_SCENARIO.regions[0], timeZone: undefined, utcOffsetH: -8 }],
      },
      "regions[0].utcOffsetH: replaced by timeZone",
    ],
  ])("%s: exits 2 naming the field's path", async (what, content, message) => {
    const file = writeTmp(`bad-${what.replaceAll(" ", "-")}.json`, content);
    const [simulateRun, checkRun] = await Promise.all([
      runCli(["simulate", ...SMALL, "--scenario", file]),
      runCli(["scenario", "--check", file]),
    ]);
    for (const run of [simulateRun, checkRun]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`error: ${file} is not a valid scenario:`);
      expect(run.stderr).toContain(`  ${message}`);
      expect(run.stdout).toBe("");
    }
  });

  it("malformed JSON gets a clear error naming the file and where", async () => {
    const file = writeTmp("malformed.json", '{\n  "name": "x",\n  "tickS": 60,\n}\n');
    const run = await runCli(["simulate", "--scenario", file, "--json"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${file} is not valid JSON:`);
    expect(run.stderr).toContain("line 4, column 1");
    expect(run.stdout).toBe("");
  });

  it("a missing file gets a clear error", async () => {
    const file = join(tmp, "missing.json");
    const run = await runCli(["simulate", "--scenario", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: cannot read scenario file ${file}: no such file\n`);
  });

  it("a valid partial scenario is used: its name reaches the summary", async () => {
    const file = writeTmp("partial.json", { name: "partial test", workload: { intensity: 0.3 } });
    const run = await runCli([
      "simulate",
      "--vehicles",
      "100",
      "--hours",
      "2",
      "--scenario",
      file,
      "--json",
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).summary.scenario).toBe("partial test");
  });

  it("the example scenario validates", async () => {
    const run = await runCli(["scenario", "--check", "examples/scenarios/evening-peak.json"], {
      cwd: REPO_ROOT,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^OK: examples\/scenarios\/evening-peak.json is a valid scenario/);
  });

  it("--print-default prints the default scenario, which --check accepts", async () => {
    const printed = await runCli(["scenario", "--print-default"]);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(DEFAULT_SCENARIO);
    const check = await runCli(["scenario", "--check", writeTmp("default.json", printed.stdout)]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("is a valid scenario");
  });

  it("scenario without a flag is a usage error", async () => {
    const run = await runCli(["scenario"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--print-default or --check");
  });
});

describe("from the repo root", () => {
  it("npm links the bin: node_modules/.bin/nightshift runs", async () => {
    const run = await runCli(["--help"], {
      cwd: REPO_ROOT,
      bin: join(REPO_ROOT, "node_modules/.bin/nightshift"),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: nightshift");
    for (const command of ["simulate", "demo", "scenario"]) expect(run.stdout).toContain(command);
  });
});
