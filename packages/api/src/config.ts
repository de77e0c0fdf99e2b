// What the API enforces and how the server schedules. Every limit a caller can run into is here,
// with its unit in the name; apps/server may override any of it.
import { randomBytes } from "node:crypto";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleConfig } from "@nightshift/core/schedule/config";
import type { HoldingLimits } from "@nightshift/core/schedule/holding";
import { worldSpanS } from "@nightshift/core/time-scale";
import { REAL_TIME, type TimeScale } from "@nightshift/core/time-scale";
import { DEFAULT_VERIFICATION, type VerificationConfig } from "@nightshift/core/verify";

/** A token bucket: `burst` calls at once, refilled at `perSecond`. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

/** Most tasks any lease call may ask for; ApiConfig.maxLeasePerCall may lower it. */
export const MAX_LEASE_PER_CALL = 256;

export interface ApiConfig {
  /** A lease lasts this long unless renewed (renew, or any heartbeat while parked). */
  leaseTtlS: number;
  /** A car silent for longer loses its leases to the sweeper and counts as offline. */
  heartbeatTimeoutS: number;
  /**
   * Most bytes of inline input one job may carry, measured as the JSON of all its inputs
   * (1 MiB). Larger inputs belong in stored files (not yet supported).
   */
  maxInlineInputBytes: number;
  /** Most tasks (inputs) in one job. */
  maxTasksPerJob: number;
  /**
   * Bytes of stored input images one tenant may hold, each distinct image once however many of
   * its jobs use it (1 GiB); an operator may set another figure per tenant
   * (`operator.tenants.update`). A job whose new images would pass it is refused.
   */
  inputStorageQuotaBytes: number;
  /**
   * How long a completed or failed job keeps its tenant's hold on its input images, s (7 days):
   * its results can be read beside their images until then. A cancelled job lets go at the
   * next sweep. An image no tenant holds is deleted once no task may still need it.
   */
  inputRetentionS: number;
  /**
   * Most tasks one lease call hands out (at most MAX_LEASE_PER_CALL, 256); core's run budget
   * (energy, departure, allowed hours) and what the car may hold (maxLeasesHeld) still bound
   * what one car takes.
   */
  maxLeasePerCall: number;
  /**
   * Most leases one car holds at once, however short their runs (core's schedule/holding.ts):
   * beyond that a car holds no more than the server estimates its hardware class runs in one
   * lease lifetime.
   */
  maxLeasesHeld: number;
  /**
   * How long a lease may live in all, renewals included: this many lease lifetimes, or as many
   * of its estimated run where that is longer. Renewals then stop, and its work goes back.
   */
  maxLeaseLifetimes: number;
  /** Most numbers in one submitted output (1 Mi values ≈ 4 MiB as float32, ~20 MiB as JSON). */
  maxOutputValues: number;
  /**
   * The largest HTTP body the server should accept, bytes: a full job of inline input or a
   * full output plus JSON overhead. apps/server passes it to the adapter's `maxBodySize`.
   */
  maxBodyBytes: number;
  /**
   * The largest body of a call with no credential (or one that resolves to nobody), bytes:
   * enrolling and signing in take a few hundred. apps/server refuses a larger one before reading
   * it, so that strangers cannot make it buffer and parse maxBodyBytes each.
   */
  maxAnonymousBodyBytes: number;
  /** How long the fleet capacity and tenant shares behind a lease decision are reused, s. */
  capacityCacheS: number;
  /**
   * How long one instance reuses a resolved credential, s: saves a lookup per call. A key
   * revoked or a session ended on another instance still works there for up to this long.
   */
  authCacheS: number;
  /** How long an operator's session lasts, s. */
  sessionTtlS: number;
  /** Attempts (rounds of replicas) a task gets before it fails for good. */
  maxTaskAttempts: number;
  /**
   * Per credential, per server instance (an in-memory token bucket: N instances allow up to N
   * times this). Anonymous calls share a bucket per client IP.
   */
  rateLimits: {
    car: RateLimit;
    tenant: RateLimit;
    operator: RateLimit;
    anonymous: RateLimit;
    signIn: RateLimit;
  };
  schedule: ScheduleConfig;
  verification: VerificationConfig;
  /**
   * The clock scheduling runs on: real time, or a compressed world for demos and tests
   * (NIGHTSHIFT_SPEEDUP), in which owner hours, tariffs, departures and the energy of a run are
   * world time while leases, heartbeats and limits stay on the wall clock.
   */
  timeScale: TimeScale;
  /**
   * The key of the server's draws (drawSeed): a decision is drawn from what it decides (the car
   * and its call, a task and its round) under this key, so that it replays for whoever holds the
   * key and cannot be foreseen by a car, which knows every id (NIGHTSHIFT_DRAW_SECRET; random per
   * process when unset).
   */
  drawSecret: string;
}

const MIB = 1024 * 1024;

export const DEFAULT_API_CONFIG: ApiConfig = {
  timeScale: REAL_TIME,
  drawSecret: randomBytes(32).toString("hex"),
  leaseTtlS: 120,
  heartbeatTimeoutS: 90,
  maxInlineInputBytes: 1 * MIB,
  maxTasksPerJob: 10_000,
  inputStorageQuotaBytes: 1024 * MIB,
  inputRetentionS: 7 * 24 * 3600,
  maxLeasePerCall: 128,
  // One full lease call's worth: an honest car leases again only once it has run what it got.
  maxLeasesHeld: 128,
  // Six minutes at 120 s: a car may run at a third of the speed its hardware class promises.
  maxLeaseLifetimes: 3,
  maxOutputValues: 1024 * 1024,
  maxBodyBytes: 24 * MIB,
  maxAnonymousBodyBytes: 64 * 1024,
  capacityCacheS: 2,
  authCacheS: 5,
  sessionTtlS: 12 * 3600,
  // A round of untrusted cars needs three agreeing of four: a cheater and a colluder on one new
  // task fail its round now and then (among the first few hundred tasks of a fleet with one
  // cheater in eight, about one round in thirty). A third round makes a tenant's task fail for
  // that about once in a thousand such rounds, where a fifth replica a round would instead let
  // two colluders and a third one outvote two honest cars.
  maxTaskAttempts: 3,
  rateLimits: {
    // A car heartbeats every few seconds and leases and submits up to 128 tasks at a time, in
    // one call each (node.submitMany; each call of a batched HTTP request counts): room for a
    // fast car on small tasks.
    car: { burst: 200, perSecond: 100 },
    tenant: { burst: 100, perSecond: 50 },
    operator: { burst: 200, perSecond: 100 },
    // Enrollment (and whoami): a host of headless agents enrolls its whole simulated fleet.
    anonymous: { burst: 200, perSecond: 50 },
    // Sign-in attempts per client IP, on top of the anonymous bucket: slow enough to make
    // guessing passwords impractical.
    signIn: { burst: 10, perSecond: 0.5 },
  },
  schedule: DEFAULT_SCHEDULE_CONFIG,
  verification: DEFAULT_VERIFICATION,
};

/**
 * What a car may hold under this config (core's schedule/holding.ts), on the scheduling clock:
 * the runs it holds are the server's estimates in world seconds, so a lease lifetime is too (on a
 * compressed clock a wall lifetime holds `speedup` times the world's work).
 */
export function holdingLimits(config: ApiConfig): HoldingLimits {
  return {
    leaseTtlS: worldSpanS(config.timeScale, config.leaseTtlS),
    maxLeases: config.maxLeasesHeld,
    maxLifetimes: config.maxLeaseLifetimes,
  };
}

/** DEFAULT_API_CONFIG with some fields replaced (rate limits merge per kind). */
export function apiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    ...DEFAULT_API_CONFIG,
    ...overrides,
    rateLimits: { ...DEFAULT_API_CONFIG.rateLimits, ...overrides.rateLimits },
  };
}
