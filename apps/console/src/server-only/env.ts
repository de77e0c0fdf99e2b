// The console's environment, read when a request comes in (not at build time), so one build
// serves any server address. startConsole() may set the address for its own process instead.
import "server-only";
import { z } from "zod";

const SERVER_URL_KEY = Symbol.for("nightshift.console.serverUrl");

const ZConsoleEnv = z.object({
  /** The Nightshift server's base URL, e.g. http://127.0.0.1:8787. */
  NIGHTSHIFT_URL: z
    .url()
    .optional()
    .transform((u) => u?.replace(/\/+$/, "")),
});

/** The server's base URL: the one startConsole() was given, else NIGHTSHIFT_URL, else the default. */
export function serverUrl(): string {
  const given = (globalThis as Record<symbol, unknown>)[SERVER_URL_KEY];
  if (typeof given === "string") return given;
  const parsed = ZConsoleEnv.safeParse({ NIGHTSHIFT_URL: process.env.NIGHTSHIFT_URL || undefined });
  if (!parsed.success) {
    throw new Error(`invalid environment: NIGHTSHIFT_URL: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data.NIGHTSHIFT_URL ?? "http://127.0.0.1:8787";
}

/** The cookie that holds the operator's session token (httpOnly: page scripts never see it). */
export const SESSION_COOKIE = "nightshift_session";
