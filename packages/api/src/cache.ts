// A value loaded from the database and reused for a few seconds by one server instance.
// Concurrent readers of an expired value share one load.

export class Cached<T> {
  private value: T | undefined;
  private loadedAtMs = -Infinity;
  private pending: Promise<T> | null = null;
  private generation = 0;

  constructor(
    private readonly ttlMs: () => number,
    private readonly load: () => Promise<T>,
  ) {}

  async get(nowMs: number): Promise<T> {
    if (this.value !== undefined && nowMs - this.loadedAtMs < this.ttlMs()) return this.value;
    if (!this.pending) {
      const generation = this.generation;
      this.pending = this.load()
        .then((v) => {
          // A value loaded across an invalidate() may be stale: hand it out once, keep nothing.
          if (generation === this.generation) {
            this.value = v;
            this.loadedAtMs = nowMs;
          }
          return v;
        })
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }

  /** The cached value, if any, whatever its age (for local updates between loads). */
  peek(): T | undefined {
    return this.value;
  }

  invalidate(): void {
    this.value = undefined;
    this.generation++;
    this.pending = null;
  }
}
