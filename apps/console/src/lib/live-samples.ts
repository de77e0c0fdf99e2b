// The live feed's recent samples. The server keeps the fleet's day in minute samples (the Fleet
// chart fetches them); the browser keeps only the last few minutes of 2-second samples, enough to
// carry the chart from the server's newest minute to now. A window of time, not a count: the
// buffer is full, and the page's memory flat, once the console has been open that long.

export interface FleetSample {
  atMs: number;
  availableKW: number;
  availableTops: number;
  eligible: number;
  online: number;
  total: number;
  queueDepth: number;
  activeLeases: number;
  /** Available kW region by region. */
  regionKW: Record<string, number>;
}

/**
 * How far back live samples are kept: ten times the minute the server takes between its samples,
 * so the chart still reaches now through a few failed fetches of the series.
 */
export const LIVE_WINDOW_MS = 10 * 60_000;

/**
 * The samples of the last LIVE_WINDOW_MS before `next`, then `next`. A new array each time (React
 * state must not be mutated); older samples are shared, not copied.
 */
export function appendSample(samples: readonly FleetSample[], next: FleetSample): FleetSample[] {
  let first = 0;
  while (first < samples.length && next.atMs - samples[first]!.atMs > LIVE_WINDOW_MS) first++;
  const kept = samples.slice(first);
  kept.push(next);
  return kept;
}
