// Reads a scenario file: a missing file, bad JSON and an invalid scenario each get a message that
// names the file, and for an invalid scenario every bad field's path. Core checks a time zone's
// spelling; whether the zone exists is Intl's to say, so that is checked here.
import { readFileSync } from "node:fs";
import { parseScenario, ScenarioError, type Scenario } from "@nightshift/core/sim/scenario";
import { canonicalTimeZone } from "@nightshift/time-zones/offsets";
import { UsageError } from "./usage-error";

export function readScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : String(error);
    throw new UsageError(`cannot read scenario file ${path}: ${why}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${jsonErrorDetail(text, error as Error)}`);
  }
  let scenario: Scenario;
  try {
    scenario = parseScenario(json);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    const lines = error.issues.map((i) => `  ${i.path || "(root)"}: ${i.message}`);
    throw new UsageError(`${path} is not a valid scenario:\n${lines.join("\n")}`);
  }
  const unknownZones = scenario.regions.flatMap((r, i) =>
    canonicalTimeZone(r.timeZone) === null
      ? [`  regions[${i}].timeZone: unknown time zone "${r.timeZone}"`]
      : [],
  );
  if (unknownZones.length > 0) {
    throw new UsageError(`${path} is not a valid scenario:\n${unknownZones.join("\n")}`);
  }
  return scenario;
}

/** V8's message, plus the line and column where it gives a position. */
function jsonErrorDetail(text: string, error: Error): string {
  const match = /at position (\d+)/.exec(error.message);
  if (!match) return error.message;
  const before = text.slice(0, Number(match[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `${error.message} (line ${line}, column ${column})`;
}
