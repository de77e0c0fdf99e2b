// The environment the vehicle's Node side reads (the static server's start and the Vite dev
// server), in one place. Listed in turbo.json's globalEnv. Node only.

export interface VehicleEnv {
  /** The Nightshift server the page works for. */
  NIGHTSHIFT_URL: string;
}

export const DEFAULT_SERVER_URL = "http://127.0.0.1:8787";

export function parseVehicleEnv(source: Record<string, string | undefined>): VehicleEnv {
  const url = source.NIGHTSHIFT_URL?.trim() || DEFAULT_SERVER_URL;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new Error(`invalid environment: NIGHTSHIFT_URL: expected an http(s) URL, got ${url}`);
  }
  return { NIGHTSHIFT_URL: url };
}
