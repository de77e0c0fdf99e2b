// A token bucket per key, in memory: per server instance, so N instances allow up to N times the
// configured rate. Good enough to stop a runaway client; a shared limit would need the database.
import type { RateLimit } from "./config";

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Buckets idle this long are full again and can be forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;
const SWEEP_EVERY = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private calls = 0;

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: string, limit: RateLimit, nowMs: number): boolean {
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(nowMs);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: limit.burst, atMs: nowMs }));
    const elapsedS = Math.max(0, nowMs - b.atMs) / 1000;
    b.tokens = Math.min(limit.burst, b.tokens + elapsedS * limit.perSecond);
    b.atMs = nowMs;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private sweep(nowMs: number): void {
    for (const [key, b] of this.buckets)
      if (nowMs - b.atMs > FORGET_AFTER_MS) this.buckets.delete(key);
  }
}
