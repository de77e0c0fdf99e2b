// What the page is told by its address: which server (`?server=`, else this origin, which
// passes the API through), which backend (`?backend=auto|webgpu|wasm`), and whether the tab
// joins the fleet at once (`?join=0` for an engine-only page, as benchmarks use), and how many
// WASM threads (`?threads=`, else up to 4 when the page is cross-origin isolated).
import type { BackendChoice } from "@nightshift/agent/runtime-web";
import type { StoredCredential } from "./protocol";

export const DEMO_ENROLLMENT_CODE = "DEMO-NIGHTSHIFT";

export interface PageSettings {
  serverUrl: string;
  backend: BackendChoice;
  join: boolean;
  code: string;
  name: string | null;
  ortBaseUrl: string;
  /** WASM threads (`?threads=`); the runtime's default when null. */
  threads: number | null;
}

export function readSettings(location: Location): PageSettings {
  const q = new URLSearchParams(location.search);
  const server = q.get("server");
  let serverUrl = location.origin;
  if (server) {
    if (!URL.canParse(server)) throw new Error(`?server=: not a URL: ${server}`);
    serverUrl = new URL(server).href.replace(/\/+$/, "");
  }
  const backend = q.get("backend") ?? "auto";
  if (backend !== "auto" && backend !== "webgpu" && backend !== "wasm") {
    throw new Error(`?backend=: expected auto, webgpu or wasm, got ${backend}`);
  }
  const threadsText = q.get("threads");
  const threads = threadsText === null ? null : Number(threadsText);
  if (threads !== null && (!Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw new Error(`?threads=: expected a whole number from 1 to 64, got ${threadsText}`);
  }
  return {
    serverUrl,
    threads,
    backend,
    join: q.get("join") !== "0",
    code: q.get("code") ?? DEMO_ENROLLMENT_CODE,
    name: q.get("name"),
    ortBaseUrl: new URL("/ort/", location.href).href,
  };
}

/** Each tab is its own car: the credential is per tab (sessionStorage) and per server. */
export function credentialKey(serverUrl: string): string {
  return `nightshift.credential ${serverUrl}`;
}

export function loadCredential(storage: Storage, serverUrl: string): StoredCredential | null {
  const raw = storage.getItem(credentialKey(serverUrl));
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<StoredCredential>;
    if (typeof parsed.carId === "string" && typeof parsed.credential === "string") {
      return { carId: parsed.carId, credential: parsed.credential };
    }
  } catch {
    // A value from an older page: enroll afresh.
  }
  return null;
}

export function saveCredential(storage: Storage, serverUrl: string, c: StoredCredential): void {
  storage.setItem(credentialKey(serverUrl), JSON.stringify(c));
}
