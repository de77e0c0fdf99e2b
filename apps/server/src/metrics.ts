// Prometheus metrics: the process's defaults, tRPC calls by procedure and outcome, and figures
// read from the database at scrape time (so every instance on one database reports the same).
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { DriveState } from "@nightshift/core/types";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { isLoopback } from "./client-address";

export interface FleetGauges {
  /** Work units waiting for a car. */
  openWorkUnits: number;
  activeLeases: number;
  carsByState: Record<DriveState, number>;
}

export interface ServerMetrics {
  registry: Registry;
  /** One tRPC call ended: `code` is "OK" or the tRPC error code. */
  observeCall(path: string, code: string, durationS: number | null): void;
  /** This instance's sweep preempted `leases` leases to reclaim capacity for guarantees. */
  countPreemptions(leases: number): void;
}

const DRIVE_STATES: DriveState[] = ["driving", "parked", "charging"];

/** Up to about 10 s: lease and submit calls are meant to take milliseconds. */
const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How long one database read of the fleet gauges serves the scrapes that follow it, ms. */
export const GAUGE_READ_SHARED_MS = 500;

export function createMetrics(opts: {
  readFleetGauges: () => Promise<FleetGauges>;
  onScrapeError?: (error: unknown) => void;
}): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: "nightshift_trpc_duration_seconds",
    help: "Time to answer a tRPC call, by procedure and outcome (calls batched together share their request's time).",
    labelNames: ["path", "outcome"] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });
  const calls = new Counter({
    name: "nightshift_trpc_calls_total",
    help: "tRPC calls by procedure and result code (OK or the tRPC error code).",
    labelNames: ["path", "code"] as const,
    registers: [registry],
  });

  // Counted by the instance whose sweep preempted (one lease is preempted by one instance):
  // the fleet's total is the sum over instances.
  const preemptions = new Counter({
    name: "nightshift_preemptions_total",
    help: "Leases preempted to give tenants below their guarantee their capacity back (core's reclaim).",
    registers: [registry],
  });

  // One database read serves every gauge of a scrape: the first gauge's collect starts it and
  // the others, collected in the same scrape, share it.
  let pending: { at: number; read: Promise<FleetGauges | null> } | undefined;
  const snapshot = (): Promise<FleetGauges | null> => {
    const now = performance.now();
    if (!pending || now - pending.at > GAUGE_READ_SHARED_MS) {
      pending = {
        at: now,
        read: opts.readFleetGauges().catch((error: unknown) => {
          opts.onScrapeError?.(error);
          return null;
        }),
      };
    }
    return pending.read;
  };

  new Gauge({
    name: "nightshift_db_up",
    help: "1 when the last scrape could read the database, else 0.",
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
  new Gauge({
    name: "nightshift_queue_depth",
    help: "Work units waiting for a car (all tenants, all instances).",
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.openWorkUnits);
    },
  });
  new Gauge({
    name: "nightshift_active_leases",
    help: "Work units held by cars right now.",
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.activeLeases);
    },
  });
  new Gauge({
    name: "nightshift_cars",
    help: "Enrolled cars by their last reported state.",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s) for (const state of DRIVE_STATES) this.set({ state }, s.carsByState[state]);
    },
  });

  return {
    registry,
    observeCall(path, code, durationS) {
      calls.inc({ path, code });
      if (durationS !== null) {
        duration.observe({ path, outcome: code === "OK" ? "ok" : "error" }, durationS);
      }
    },
    countPreemptions(leases) {
      if (leases > 0) preemptions.inc(leases);
    },
  };
}

/**
 * Who may read /metrics (it tells the fleet's size, the traffic by procedure and the process's
 * state). With a token (NIGHTSHIFT_METRICS_TOKEN): whoever sends `Authorization: Bearer <token>`,
 * from anywhere. Without one: callers on this host only, straight to the server, since a proxy
 * on the same host passes on requests from anywhere (it says so in X-Forwarded-For or Forwarded).
 */
export function metricsAccess(
  req: { headers: IncomingMessage["headers"]; socket: { remoteAddress?: string } },
  token: string | null,
): "ok" | "unauthorized" | "forbidden" {
  if (token !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    // Compared as digests: the same length whatever was sent, and in constant time.
    const digest = (s: string) => createHash("sha256").update(s).digest();
    return match && timingSafeEqual(digest(match[1]!), digest(token)) ? "ok" : "unauthorized";
  }
  const proxied =
    req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined;
  return isLoopback(req.socket.remoteAddress) && !proxied ? "ok" : "forbidden";
}
