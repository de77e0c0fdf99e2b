// Compressed time, for demos and tests: a world whose clock runs `speedup` times as fast as the
// wall clock, so that a car's day passes in minutes. Scheduling (owner hours, tariffs, carbon,
// departures, margins) runs on the world's clock; the protocol (leases, heartbeats, rate limits)
// stays on the wall clock. Cars report instants on the wall clock, the truth about when they
// will really leave; the server maps them onto the world's clock with these functions, so that
// a car in a 60× world that leaves in one wall minute leaves in one world hour. At speedup 1
// with equal origins (REAL_TIME) every function here is the identity.

export interface TimeScale {
  /** World seconds per wall second (1: real time). */
  readonly speedup: number;
  /** A wall instant (s since the epoch) and the world instant it is (s). */
  readonly wallOriginS: number;
  readonly worldOriginS: number;
}

export const REAL_TIME: TimeScale = { speedup: 1, wallOriginS: 0, worldOriginS: 0 };

/** The largest speedup anything accepts: a day in 24 seconds. */
export const MAX_SPEEDUP = 3600;

/** A time scale that makes `worldOriginS` the world's time at the wall instant `wallOriginS`. */
export function timeScale(
  speedup: number,
  wallOriginS: number,
  worldOriginS = wallOriginS,
): TimeScale {
  if (!(speedup >= 1 && speedup <= MAX_SPEEDUP)) {
    throw new RangeError(`speedup must be a number from 1 to ${MAX_SPEEDUP}, got ${speedup}`);
  }
  if (!Number.isFinite(wallOriginS) || !Number.isFinite(worldOriginS)) {
    throw new RangeError(
      `time-scale origins must be finite, got ${wallOriginS} and ${worldOriginS}`,
    );
  }
  return { speedup, wallOriginS, worldOriginS };
}

/** The world instant (s) at the wall instant `wallS`. */
export function worldS(scale: TimeScale, wallS: number): number {
  return scale.worldOriginS + (wallS - scale.wallOriginS) * scale.speedup;
}

/** The wall instant (s) at the world instant `worldAtS`. */
export function wallS(scale: TimeScale, worldAtS: number): number {
  return scale.wallOriginS + (worldAtS - scale.worldOriginS) / scale.speedup;
}

/** A span of world seconds in wall seconds. */
export function wallSpanS(scale: TimeScale, worldSpanS: number): number {
  return worldSpanS / scale.speedup;
}

/** A span of wall seconds in world seconds. */
export function worldSpanS(scale: TimeScale, wallSpanS: number): number {
  return wallSpanS * scale.speedup;
}
