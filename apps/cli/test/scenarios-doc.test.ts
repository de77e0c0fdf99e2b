// docs/SCENARIOS.md documents every field of the scenario schema, and the defaults it states are
// the defaults core uses: the schema lives in core and changes, the document must follow.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SCENARIO, ZScenario } from "@nightshift/core/sim/scenario";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./run-cli";

const doc = readFileSync(join(REPO_ROOT, "docs/SCENARIOS.md"), "utf8");

/** Enough of zod's internal definition to walk a schema's fields. */
interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
}

/** Dotted paths of every field, `[]` for each element of a list of objects: `regions[].tariff[].start`. */
function fieldPaths(def: Def, path = ""): string[] {
  if (def.type === "object" && def.shape) {
    return Object.entries(def.shape).flatMap(([key, value]) =>
      fieldPaths(value._zod.def, path ? `${path}.${key}` : key),
    );
  }
  if (def.type === "array" && def.element?._zod.def.type === "object")
    return fieldPaths(def.element._zod.def, `${path}[]`);
  return [path];
}

/** Rows of the field tables: | `path` | type | default | meaning |. */
const rows = [...doc.matchAll(/^\|\s*`([^`]+)`\s*\|[^|]*\|([^|]*)\|/gm)].map((m) => ({
  path: m[1] as string,
  defaultCell: (m[2] as string).trim(),
}));

function valueAt(path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], DEFAULT_SCENARIO);
}

describe("docs/SCENARIOS.md", () => {
  const fields = fieldPaths((ZScenario as unknown as { _zod: { def: Def } })._zod.def);

  it("finds the schema's fields (the walk itself works)", () => {
    expect(fields).toContain("regions[].tariff[].start");
    expect(fields).toContain("mobility.batteryKWh.min");
    expect(fields.length).toBeGreaterThan(50);
  });

  it("has a row for every field of the schema", () => {
    const documented = new Set(rows.map((r) => r.path));
    expect(fields.filter((f) => !documented.has(f))).toEqual([]);
  });

  it("documents no field the schema lacks", () => {
    const known = new Set(fields);
    const parents = new Set(
      fields.flatMap((f) => f.split(".").map((_, i, parts) => parts.slice(0, i + 1).join("."))),
    );
    const stale = rows
      .map((r) => r.path)
      .filter((p) => !known.has(p) && !parents.has(p) && !parents.has(`${p}[]`));
    expect(stale).toEqual([]);
  });

  it("states the defaults that core uses", () => {
    const stated = rows.filter((r) => /^`.*`$/.test(r.defaultCell));
    expect(stated.length).toBeGreaterThan(30);
    for (const { path, defaultCell } of stated) {
      expect(valueAt(path), path).toEqual(JSON.parse(defaultCell.slice(1, -1)));
    }
  });
});
