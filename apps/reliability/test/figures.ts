// Runs a fault test at its CI size, prints and records its figures, and gives them by name.
import { type Figure, report } from "../src/figures";

export async function runAndReport(
  test: string,
  run: () => Promise<Figure[]>,
): Promise<Record<string, number>> {
  const list = await run();
  report(test, "CI size", list);
  return Object.fromEntries(list.map((f) => [f.name, f.value]));
}
