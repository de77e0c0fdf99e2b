// The server's environment: read once, validated, typed. Nothing else in the app reads
// process.env; every name here is listed in turbo.json's globalEnv.
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { TrustedProxiesError, parseTrustedProxies } from "./client-address";

/** The repository's root: defaults for local state live under its `.nightshift/`. */
export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * The console (3000) and the vehicle page (5180, as `npm start` serves it; 5173, Vite's
 * development server). Both proxy the API by default; these cover pages that call it directly.
 */
const DEFAULT_CORS_ORIGINS = [
  "http://localhost:3000",
  "http://127.0.0.1:3000",
  "http://localhost:5173",
  "http://127.0.0.1:5173",
  "http://localhost:5180",
  "http://127.0.0.1:5180",
];

/** An unset variable and an empty one mean the same: the default. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const ZOrigin = z
  .url()
  .refine((u) => !URL.canParse(u) || new URL(u).origin === u.replace(/\/$/, ""), {
    message: "an origin is scheme://host[:port], with no path",
  });

export const ZServerEnv = z.object({
  /** PostgreSQL to use; unset: an embedded PostgreSQL in NIGHTSHIFT_DATA_DIR. */
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL")),
  NIGHTSHIFT_HOST: optional(z.string().min(1)).default("127.0.0.1"),
  NIGHTSHIFT_PORT: optional(z.coerce.number().int().min(0).max(65_535)).default(8787),
  NIGHTSHIFT_DATA_DIR: optional(z.string().min(1)),
  /** Model files served at /models/:id, as `<id>.onnx`. */
  NIGHTSHIFT_MODELS_DIR: optional(z.string().min(1)),
  /** Comma-separated origins allowed to call the API from a browser (console, vehicle page). */
  NIGHTSHIFT_CORS_ORIGINS: optional(z.string())
    .transform((s) =>
      s === undefined
        ? DEFAULT_CORS_ORIGINS
        : s
            .split(",")
            .map((o) => o.trim())
            .filter(Boolean),
    )
    .pipe(z.array(ZOrigin)),
  /**
   * How long /readyz answers 503 before the listener closes on shutdown, so a load balancer
   * stops sending new work first (Kubernetes' endpoints take seconds to notice).
   */
  NIGHTSHIFT_DRAIN_DELAY_MS: optional(z.coerce.number().int().min(0).max(120_000)).default(0),
  /** The longest wait for in-flight requests on shutdown before their connections are cut. */
  NIGHTSHIFT_DRAIN_TIMEOUT_MS: optional(z.coerce.number().int().min(0).max(600_000)).default(
    10_000,
  ),
  /**
   * Share of lease calls that also hand out a canary (a validated task issued again, its answer
   * known), 0..1. Default: core's DEFAULT_VERIFICATION.canaryRate (0.02).
   */
  NIGHTSHIFT_CANARY_RATE: optional(z.coerce.number().min(0).max(1)),
  /**
   * The key of the server's draws (which call brings a canary, which task is spot-checked):
   * give every instance the same one, kept secret, to replay a decision from its ids. Unset: a
   * random key per process, so draws are unforeseeable but replay only within the process.
   */
  NIGHTSHIFT_DRAW_SECRET: optional(z.string().min(16)),
  /**
   * Proxies in front of the server (load balancers, the console) that append the address they
   * received from to X-Forwarded-For: how many (`1`), or which (`127.0.0.1,10.0.0.0/8,::1`,
   * `loopback`). Per-IP limits then key on the client's address as clientAddress finds it. Unset
   * (or 0): on the TCP peer, and the header is ignored; startServer's caller may choose then.
   */
  NIGHTSHIFT_TRUSTED_PROXIES: optional(z.string()).transform((value, ctx) => {
    if (value === undefined) return undefined;
    try {
      return parseTrustedProxies(value);
    } catch (error) {
      if (!(error instanceof TrustedProxiesError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  }),
  /**
   * The secret /metrics asks for (`Authorization: Bearer <token>`), for a scraper on another
   * host. Unset: /metrics answers only callers on this host that came through no proxy.
   */
  NIGHTSHIFT_METRICS_TOKEN: optional(
    z
      .string()
      .min(16, "at least 16 characters: it is all that guards /metrics")
      .regex(/^\S+$/, "no spaces: it is sent as a bearer token"),
  ),
  /**
   * Compressed time, for demos and tests: scheduling (owner hours, tariffs, departures, the
   * energy of a run) runs this many times as fast as the wall clock (60: a day in 24 minutes);
   * cars must run their days at the same speed (`nightshift agent` asks the server). 1: real time.
   */
  NIGHTSHIFT_SPEEDUP: optional(z.coerce.number().min(1).max(3600)).default(1),
  /** The scheduling clock's time when the server starts (ISO 8601); default the wall clock's. */
  NIGHTSHIFT_WORLD_START: optional(z.iso.datetime({ offset: true })),
  /** Seconds between sweeps of expired leases. */
  NIGHTSHIFT_SWEEP_INTERVAL_S: optional(z.coerce.number().positive().max(3600)).default(2),
  LOG_LEVEL: optional(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  ).default("info"),
});

export type ServerEnv = z.infer<typeof ZServerEnv>;

/** Names each bad variable: `NIGHTSHIFT_PORT: Too big: expected number to be <=65535`. */
export class EnvError extends Error {
  override name = "EnvError";
}

export function parseServerEnv(source: Record<string, string | undefined>): ServerEnv {
  const parsed = ZServerEnv.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new EnvError(`invalid environment: ${lines.join("; ")}`);
  }
  return parsed.data;
}

let cached: ServerEnv | undefined;

/** The process's environment, parsed on first use. */
export function serverEnv(): ServerEnv {
  cached ??= parseServerEnv(process.env);
  return cached;
}
