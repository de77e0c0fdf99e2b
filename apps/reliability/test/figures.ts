// Runs a fault test at its CI size, prints its figures and gives them by name. (The recorded
// figures in bench-results come from `npm run reliability`, not from test runs.)
import { type Figure, formatTable } from "../src/figures";

export async function runAndReport(
  test: string,
  run: () => Promise<Figure[]>,
): Promise<Record<string, number>> {
  const list = await run();
  console.log(formatTable(`reliability ${test} (CI size)`, list));
  return Object.fromEntries(list.map((f) => [f.name, f.value]));
}
