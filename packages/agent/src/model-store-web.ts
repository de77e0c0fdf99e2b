// The browser's ModelStore: model files kept in Cache Storage (they survive reloads; a model is
// fetched once per browser), their sha256 checked before every use, since a cache can be
// corrupted or tampered with. Works in Web Workers and pages alike (secure origins only).
import type { ModelManifest } from "@nightshift/models/manifest";
import { sha256Hex } from "@nightshift/models/sha256";
import { ModelIntegrityError } from "./errors";
import { type FetchFn, fetchVerified, serverUrl } from "./fetch-bytes";
import type { ModelStore } from "./runtime";

/** The Cache Storage cache holding model files; a new name would start from nothing. */
export const MODEL_CACHE_NAME = "nightshift-models-v1";

export interface WebModelStoreOptions {
  /** The server's base URL: model URLs from a lease ("/models/<id>/<sha256>") lie under it. */
  baseUrl: string;
  cacheName?: string;
  fetch?: FetchFn;
}

/** The part of Cache Storage used here (the agent package compiles without DOM types). */
interface CacheLike {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
  delete(key: string): Promise<boolean>;
}
interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
}

function cacheStorage(): CacheStorageLike {
  const storage = (globalThis as { caches?: CacheStorageLike }).caches;
  if (!storage) throw new Error("Cache Storage is not available (it needs a secure origin)");
  return storage;
}

/** Where a model URL lies in the cache: its absolute URL. */
export function modelCacheKey(url: string, baseUrl: string): string {
  return new URL(serverUrl(baseUrl, url)).href;
}

export function createWebModelStore(options: WebModelStoreOptions): ModelStore {
  const cacheName = options.cacheName ?? MODEL_CACHE_NAME;
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);

  return {
    async get(model: ModelManifest, url: string): Promise<Uint8Array> {
      const key = modelCacheKey(url, options.baseUrl);
      const cache = await cacheStorage().open(cacheName);
      const cached = await cache.match(key);
      if (cached) {
        const bytes = new Uint8Array(await cached.arrayBuffer());
        const actual = await sha256Hex(bytes);
        if (actual === model.sha256) return bytes;
        // Dropped, so that the next task fetches the file afresh.
        await cache.delete(key);
        throw new ModelIntegrityError(model.id, model.sha256, actual, `${cacheName} ${key}`);
      }
      const bytes = await fetchVerified(fetchFn, key, model.sha256, model.id);
      // A copy: the cache takes an ArrayBuffer-backed body, and the caller keeps `bytes`.
      await cache.put(
        key,
        new Response(bytes.slice(), { headers: { "content-type": "application/octet-stream" } }),
      );
      return bytes;
    },
  };
}
