// Node only: model files for a headless agent, cached in a folder. Every file is checked against
// its sha256 when it is read from disk and when it is fetched; a cached file that fails is
// deleted and fetched again once, and a server that serves wrong bytes gets ModelIntegrityError.
// Checked bytes stay in memory: every car of a process shares one copy of each model.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelManifest } from "@nightshift/models/manifest";
import { sha256Hex } from "@nightshift/models/sha256";
import { type FetchFn, fetchVerified } from "./fetch-bytes";
import type { ModelStore } from "./runtime";

export interface NodeModelStoreOptions {
  /** The cache folder; by default `nightshift-models` in the system's temporary folder. */
  dir?: string;
  fetch?: FetchFn;
}

export interface ModelStoreStats {
  /** Files fetched from a server. */
  fetched: number;
  /** Files read from the folder and found good. */
  diskHits: number;
  /** Cached files that failed their sha256 and were deleted. */
  discarded: number;
}

export function defaultModelCacheDir(): string {
  return join(tmpdir(), "nightshift-models");
}

export class NodeModelStore implements ModelStore {
  readonly dir: string;
  readonly stats: ModelStoreStats = { fetched: 0, diskHits: 0, discarded: 0 };
  private readonly fetchFn: FetchFn;
  /** Checked bytes by sha256, and gets in flight: concurrent gets of one model fetch once. */
  private readonly loaded = new Map<string, Promise<Uint8Array>>();

  constructor(options: NodeModelStoreOptions = {}) {
    this.dir = options.dir ?? defaultModelCacheDir();
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  get(model: ModelManifest, url: string): Promise<Uint8Array> {
    let pending = this.loaded.get(model.sha256);
    if (!pending) {
      pending = this.load(model, url);
      this.loaded.set(model.sha256, pending);
      // A failed get is not remembered: the next one tries again.
      pending.catch(() => this.loaded.delete(model.sha256));
    }
    return pending;
  }

  /** The path of a model's cached file. */
  pathOf(model: ModelManifest): string {
    return join(this.dir, `${model.id}-${model.sha256}.onnx`);
  }

  private async load(model: ModelManifest, url: string): Promise<Uint8Array> {
    const path = this.pathOf(model);
    const cached = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw error;
    });
    if (cached) {
      const bytes = new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength);
      if ((await sha256Hex(bytes)) === model.sha256) {
        this.stats.diskHits++;
        return bytes;
      }
      // Damaged on disk (a cut-off write, a changed file): never used, fetched again below.
      this.stats.discarded++;
      await rm(path, { force: true });
    }
    const bytes = await fetchVerified(this.fetchFn, url, model.sha256, model.id);
    this.stats.fetched++;
    await mkdir(this.dir, { recursive: true });
    // Written beside and renamed: a reader never sees half a file under the final name.
    const partial = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
    await writeFile(partial, bytes);
    await rename(partial, path);
    return bytes;
  }
}
