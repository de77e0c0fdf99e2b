// Inputs aimed at one field at a time: a well-formed input for a procedure, built from its input
// schema (as JSON Schema) and the ids of a world the fuzzing set up, with one string, feed name
// or cursor in it replaced by what PostgreSQL refuses or a list never hands out. Random inputs
// mostly fail on their first field; these get past every other check, so that a value the
// schemas let through reaches the database and shows as a 5xx.
import fc from "fast-check";

type JsonSchema = Record<string, unknown>;

/**
 * Characters no text field may take: NUL (PostgreSQL refuses it in text and jsonb), other C0 and
 * C1 control characters, and lone UTF-16 surrogates (jsonb refuses them).
 */
const POISON = [
  "\u0000",
  "\u0001",
  "\u0008",
  "\u000b",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
  "\uD800",
  "\uDBFF",
  "\uDC00",
  "\uDFFF",
];

/** A string with at least one poison character somewhere in it. */
export const hostileString: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...POISON), fc.string({ maxLength: 8 }))
  .map(([before, poison, after]) => before + poison + after);

const base64url = (text: string) => Buffer.from(text).toString("base64url");
const SOME_UUID = "00000000-0000-4000-8000-000000000000";
/** Sort values of keyset cursors that no list writes: no time, times PostgreSQL does not read, no finite double, poison. */
const BAD_SORT_VALUES: unknown[] = [
  "yesterday",
  "0000-06-01T00:00:00.000Z",
  "+275760-09-13T00:00:00.000Z",
  "2025-02-30 00:00:00+00",
  "2025-06-01 24:00:00+00",
  "1e400",
  "1e-400",
  "NaN",
  "",
  "a\u0000",
  "\uD800",
  1e308,
  null,
  true,
  [],
];

/** Keyset cursors (base64url of JSON, as the lists write them) a list never hands out. */
export const malformedCursor: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("%%%", "=", "a b", "\u0000", "x".repeat(600)),
  fc
    .tuple(fc.constantFrom(...BAD_SORT_VALUES), fc.constantFrom(SOME_UUID, "not-a-uuid", "\u0000"))
    .map((parts) => base64url(JSON.stringify(parts))),
  fc.constantFrom("\u0000\u0001", "[1]", "{}", "[null,null]", '"x"').map(base64url),
  hostileString.map(base64url),
);

/**
 * Numeric cursors (a row id, a count to skip, a task's seq) that none takes: negative, past the
 * safe integers, not integers. A cursor with a maximum is also aimed at just past it (see
 * aimedValues).
 */
export const malformedNumberCursor: fc.Arbitrary<number> = fc.constantFrom(
  -5,
  -2,
  -(2 ** 31),
  2 ** 53,
  1.5,
  -0.5,
);

/** A value for a property, from what the world knows, by procedure and property name. */
export type Hint = (path: string, name: string) => unknown;

/**
 * A value that passes `schema` where the world's ids make it pass (see `hint`), or undefined when
 * none can be made. Objects get their required properties and every optional one that is text,
 * so that each can be aimed at; cursors are left out (a cursor is aimed at by adding one).
 */
export function example(schema: JsonSchema, path: string, name: string, hint: Hint): unknown {
  const hinted = hint(path, name);
  if (hinted !== undefined) return hinted;
  if ("not" in schema) return undefined;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) {
    // A nullable field is given its value, not null: a null has nothing to aim at.
    const options = (schema.anyOf as JsonSchema[]).sort(
      (a, b) => Number(a.type === "null") - Number(b.type === "null"),
    );
    for (const option of options) {
      const v = example(option, path, name, hint);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  switch (schema.type) {
    case "string": {
      if (schema.format === "uuid") return SOME_UUID;
      if (schema.format === "date-time") return "2099-01-01T00:00:00Z";
      if (schema.format === "email") return "nobody@nightshift.local";
      const min = typeof schema.minLength === "number" ? schema.minLength : 1;
      return "fuzz".padEnd(min, "z");
    }
    case "number":
    case "integer": {
      const min =
        typeof schema.minimum === "number"
          ? schema.minimum
          : typeof schema.exclusiveMinimum === "number"
            ? schema.exclusiveMinimum + 1
            : 0;
      return typeof schema.maximum === "number" ? Math.min(min, schema.maximum) : min;
    }
    case "boolean":
      return false;
    case "array": {
      const count = typeof schema.minItems === "number" ? schema.minItems : 0;
      const item = example((schema.items ?? {}) as JsonSchema, path, name, hint);
      return item === undefined ? undefined : Array.from({ length: count }, () => item);
    }
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(properties)) {
        if (key === "cursor") continue;
        const text = property.type === "string" && !Array.isArray(property.enum);
        if (!required.has(key) && !text) continue;
        const v = example(property, path, key, hint);
        if (v === undefined) {
          if (required.has(key)) return undefined;
          continue;
        }
        out[key] = v;
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Where in an input one hostile value goes, and what kind. */
export interface Target {
  /** "name", "inputs[0].x" (a key: the feed's name), "cursor". */
  field: string;
  kind: "text" | "key" | "cursor" | "number-cursor";
  /** A numeric cursor's largest value (a task's seq: PostgreSQL's integer), if it has one. */
  maximum?: number;
  /** The input with `value` put there. */
  put(value: unknown): unknown;
}

/**
 * Every string leaf, every key the schema does not name (a record's: a tensor feed's name), and
 * the cursor. `declared`: the property names anywhere in the schema.
 */
export function targets(
  input: unknown,
  schema: JsonSchema,
  declared: ReadonlySet<string>,
): Target[] {
  const found: Target[] = [];
  const walk = (value: unknown, at: (string | number)[]) => {
    if (typeof value === "string") {
      found.push({ field: label(at), kind: "text", put: (v) => replaceAt(input, at, v) });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...at, i]));
    } else if (value && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        if (!declared.has(key))
          found.push({
            field: label([...at, key]),
            kind: "key",
            put: (v) => renameAt(input, at, key, String(v)),
          });
        walk(item, [...at, key]);
      }
    }
  };
  walk(input, []);
  const cursor = ((schema.properties ?? {}) as Record<string, JsonSchema>).cursor;
  if (cursor && input && typeof input === "object") {
    found.push({
      field: "cursor",
      kind: cursor.type === "string" ? "cursor" : "number-cursor",
      ...(typeof cursor.maximum === "number" ? { maximum: cursor.maximum } : {}),
      put: (v) => ({ ...(input as object), cursor: v }),
    });
  }
  return found;
}

function label(at: (string | number)[]): string {
  return at.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function replaceAt(input: unknown, at: (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value;
  const [head, ...rest] = at as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(input) ? [...input] : { ...(input as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = replaceAt(copy[head], rest, value);
  return copy;
}

function renameAt(input: unknown, at: (string | number)[], from: string, to: string): unknown {
  const target = at.reduce<unknown>(
    (node, p) => (node as Record<string | number, unknown>)[p],
    input,
  ) as Record<string, unknown>;
  const renamed = Object.fromEntries(
    Object.entries(target).map(([k, v]) => [k === from ? to : k, v]),
  );
  return replaceAt(input, at, renamed);
}

/**
 * What to aim at a target: a few values every run tries (NUL, a lone surrogate, an escape
 * character; cursors that are no base64url, whose id is no uuid, whose time is no time; a
 * negative number, and one past the cursor's maximum), then `count` more drawn with `seed`.
 */
export function aimedValues(target: Target, count: number, seed: number): unknown[] {
  const { kind } = target;
  const always: Record<Target["kind"], unknown[]> = {
    text: ["a\u0000b", "a\uD800b", "\u001b[0m"],
    key: ["x\u0000", "x\uDC00"],
    cursor: [
      "%%%",
      base64url(JSON.stringify(["2030-01-01T00:00:00.000Z", "not-a-uuid"])),
      base64url(JSON.stringify(["yesterday", SOME_UUID])),
    ],
    "number-cursor": [-5, ...(target.maximum === undefined ? [] : [target.maximum + 1])],
  };
  const drawn: fc.Arbitrary<unknown> =
    kind === "cursor"
      ? malformedCursor
      : kind === "number-cursor"
        ? malformedNumberCursor
        : hostileString;
  return [...always[kind], ...fc.sample(drawn, { numRuns: count, seed })];
}
