// Dependencies between the workspace packages point one way, as docs/ARCHITECTURE.md draws them:
//   core ← db ← api ← server ← cli      core ← models ← agent ← vehicle
// This check reads every workspace's package.json and every import of "@nightshift/…" in each
// package's src/ (the code it ships; tests may drive the whole system) and fails, naming the
// file and the import, when
// - src imports a package the package.json does not declare (a value import needs it in
//   `dependencies`; an `import type` may use `devDependencies`, since nothing of it runs);
// - a package's `dependencies`, or a type its src imports, is an edge missing from ALLOWED below;
// - an edge ALLOWED only for types (the API's router type) is imported as code or declared in
//   `dependencies`: a browser bundle must never pull the server's code in;
// - a library (packages/*, tooling/*) depends on an app, even only in its tests: a test that needs
//   the whole server starts it through @nightshift/server-testkit.
// A new workspace fails here until it gets its row in ALLOWED.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { type Manifest, readJson, ROOT, workspaceFolders } from "./workspaces";

/** How a package may use another: its code, or only its types (erased before anything runs). */
type Use = "code" | "types";

/**
 * Which packages each package may depend on in what it ships. Tests and benchmarks are not held
 * to it (the console's tests start a server and a fleet), except that no library depends on an app.
 */
const ALLOWED: Record<string, Record<string, Use>> = {
  // The functional core: scheduling, energy, verification, the simulator. Everything builds on
  // it and it builds on nothing: no I/O, so no other package.
  "@nightshift/core": {},
  // Units and their formatting, shared by the CLI and the console.
  "@nightshift/units": {},
  // The ONNX models as data (manifests, pre- and postprocessing): nothing internal.
  "@nightshift/models": {},
  // IANA zones through Intl into the offset tables core reads (core's type of a table).
  "@nightshift/time-zones": { "@nightshift/core": "code" },

  // core ← db ← api ← server
  // The schema stores core's types (tariffs, policies, tolerances) in JSON columns.
  "@nightshift/db": { "@nightshift/core": "code" },
  // The services store and enforce what core decides, on db's tables.
  "@nightshift/api": {
    "@nightshift/core": "code",
    "@nightshift/db": "code",
    "@nightshift/models": "code",
    "@nightshift/time-zones": "code",
  },
  // HTTP around the API: the routers, the pool, migrations, model files.
  "@nightshift/server": {
    "@nightshift/api": "code",
    "@nightshift/core": "code",
    "@nightshift/db": "code",
    "@nightshift/models": "code",
  },

  // The typed tRPC client runs in browsers: it takes the router's type, never the API's code.
  "@nightshift/client": { "@nightshift/api": "types" },

  // core ← models ← agent ← vehicle
  // The vehicle node: its twin on core's rules, models run by onnxruntime, the API by the client.
  "@nightshift/agent": {
    "@nightshift/client": "code",
    "@nightshift/core": "code",
    "@nightshift/models": "code",
    "@nightshift/time-zones": "code",
  },
  // The browser's car: the agent's work loop in a page.
  "@nightshift/vehicle": {
    "@nightshift/agent": "code",
    "@nightshift/client": "code",
    "@nightshift/core": "code",
    "@nightshift/models": "code",
  },

  // The operator console talks to the server over HTTP: core's rules and formats run in its
  // pages (the planner), the API only as the router's type.
  "@nightshift/console": {
    "@nightshift/api": "types",
    "@nightshift/core": "code",
    "@nightshift/time-zones": "code",
    "@nightshift/units": "code",
  },
  // The top: `nightshift demo` starts the server, the console, the vehicle page and a fleet.
  "@nightshift/cli": {
    "@nightshift/agent": "code",
    "@nightshift/client": "code",
    "@nightshift/console": "code",
    "@nightshift/core": "code",
    "@nightshift/models": "code",
    "@nightshift/server": "code",
    "@nightshift/time-zones": "code",
    "@nightshift/units": "code",
    "@nightshift/vehicle": "code",
  },
  // Fault tests of the whole system: its src is test code, over real server processes.
  "@nightshift/reliability": {
    // The replay benchmark runs a fleet of headless cars, with their models and time zones.
    "@nightshift/agent": "code",
    "@nightshift/api": "code",
    "@nightshift/client": "code",
    "@nightshift/core": "code",
    "@nightshift/db": "code",
    "@nightshift/models": "code",
    "@nightshift/server": "code",
    "@nightshift/server-testkit": "code",
    "@nightshift/testkit": "code",
    "@nightshift/time-zones": "code",
  },

  // Test kits and configuration. The server's kit runs the CLI by path and imports no app.
  "@nightshift/server-testkit": {
    "@nightshift/api": "code",
    "@nightshift/client": "code",
    "@nightshift/db": "code",
    "@nightshift/testkit": "code",
  },
  "@nightshift/testkit": {},
  "@nightshift/browser": {},
  "@nightshift/eslint-config": {},
  "@nightshift/tsconfig": {},
  "@nightshift/vitest-config": {},
  "@nightshift/repo-checks": {},
};

const SOURCE = /\.(ts|tsx|mts|cts|js|jsx|mjs)$/;

interface Workspace {
  dir: string;
  name: string;
  manifest: Manifest;
}

interface InternalImport {
  file: string;
  specifier: string;
  /** The package's name: "@nightshift/core" for "@nightshift/core/schedule/filters". */
  target: string;
  typeOnly: boolean;
}

function workspaces(): Workspace[] {
  return workspaceFolders().map((dir) => {
    const manifest = readJson<Manifest>(join(ROOT, dir, "package.json"));
    return { dir, name: manifest.name ?? dir, manifest };
  });
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (SOURCE.test(name)) files.push(path);
    }
  };
  try {
    walk(join(ROOT, dir, "src"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return files;
}

/**
 * Every import of an internal package in a file, read by TypeScript's parser (not a pattern over
 * the text, so comments do not count): `import`, `export … from`, `import("…")` and
 * `import("…").T` in types. Only `import type` and `export type` are type-only: with
 * verbatimModuleSyntax, `import { type T }` still loads the module.
 */
function internalImports(path: string): InternalImport[] {
  const text = readFileSync(path, "utf8");
  if (!text.includes("@nightshift/")) return [];
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: InternalImport[] = [];
  const add = (literal: ts.Node | undefined, typeOnly: boolean) => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const match = /^@nightshift\/[^/]+/.exec(literal.text);
    if (!match) return;
    const file = relative(ROOT, path);
    found.push({ file, specifier: literal.text, target: match[0], typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** What is wrong with one package's dependencies, one line each. */
function violations(pkg: Workspace, apps: ReadonlySet<string>): string[] {
  const allowed = ALLOWED[pkg.name];
  const manifestFile = `${pkg.dir}/package.json`;
  if (!allowed) return [`${manifestFile}: ${pkg.name} has no row in ALLOWED (direction.test.ts)`];
  const dependencies = pkg.manifest.dependencies ?? {};
  const devDependencies = pkg.manifest.devDependencies ?? {};
  const found: string[] = [];

  for (const dep of Object.keys(dependencies).filter((d) => d.startsWith("@nightshift/"))) {
    if (!allowed[dep]) found.push(`${manifestFile}: depends on ${dep}, against the direction`);
    else if (allowed[dep] === "types") {
      found.push(`${manifestFile}: ${dep} is for its types only; list it in devDependencies`);
    }
  }

  if (!pkg.dir.startsWith("apps/")) {
    for (const dep of Object.keys({ ...dependencies, ...devDependencies })) {
      if (apps.has(dep)) found.push(`${manifestFile}: a library depends on the app ${dep}`);
    }
  }

  for (const file of sourceFiles(pkg.dir)) {
    for (const use of internalImports(file)) {
      if (use.target === pkg.name) continue;
      const at = `${use.file}: "${use.specifier}"`;
      const declared = use.typeOnly
        ? use.target in dependencies || use.target in devDependencies
        : use.target in dependencies;
      if (!allowed[use.target]) {
        found.push(`${at}: ${pkg.name} may not use ${use.target}, against the direction`);
      } else if (allowed[use.target] === "types" && !use.typeOnly) {
        found.push(`${at}: ${pkg.name} may use only the types of ${use.target} (import type)`);
      } else if (!declared) {
        const where = use.target in devDependencies ? " (only in devDependencies)" : "";
        found.push(`${at}: ${pkg.name} does not declare ${use.target} in dependencies${where}`);
      }
    }
  }
  return found;
}

describe("dependencies between the workspace packages", () => {
  const all = workspaces();
  const apps = new Set(all.filter((w) => w.dir.startsWith("apps/")).map((w) => w.name));

  it("are declared where src imports them, and point only the allowed way", () => {
    expect(all.flatMap((pkg) => violations(pkg, apps))).toEqual([]);
  });

  it("are read from every workspace and its imports (the check sees what it checks)", () => {
    // A check that finds no imports would pass on anything: it must see the API's use of core.
    const api = all.find((w) => w.name === "@nightshift/api")!;
    const targets = sourceFiles(api.dir).flatMap((f) => internalImports(f).map((i) => i.target));
    expect(new Set(targets)).toContain("@nightshift/core");
    expect(Object.keys(ALLOWED).sort()).toEqual(all.map((w) => w.name).sort());
  });
});
