// Model files for cars: GET /models/:id and GET /models/:id/:sha256: the registry's models
// (@nightshift/models), then any `<id>.onnx` in an extra folder (models an operator adds). A car pins a model by its sha256, so the address with the sha256 never
// changes its bytes and may be cached forever; the address without it is revalidated by ETag.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { modelFilePath } from "@nightshift/models/files";
import { getManifest } from "@nightshift/models/registry";

const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;
const SHA256 = /^[0-9a-f]{64}$/;

interface Digest {
  mtimeMs: number;
  size: number;
  sha256: string;
}

export interface ModelFiles {
  /** Answers a request under /models/; false when the path is not a model address. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

function notFound(res: ServerResponse, message: string): void {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`${message}\n`);
}

export function createModelFiles(dir: string | undefined): ModelFiles {
  // Hashing a 10 MB file takes tens of ms: done once per file version, keyed by path.
  const digests = new Map<string, Promise<Digest>>();

  async function digest(path: string): Promise<Digest | null> {
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return null;
    let known = digests.get(path);
    const current = known ? await known.catch(() => null) : null;
    if (!current || current.mtimeMs !== info.mtimeMs || current.size !== info.size) {
      known = sha256Of(path).then((sha256) => ({ mtimeMs: info.mtimeMs, size: info.size, sha256 }));
      digests.set(path, known);
    }
    return known!;
  }

  return {
    async handle(req, res, pathname) {
      // Ids and hashes are plain ASCII: no percent-decoding, so "%2e%2e" is simply not an id.
      const parts = pathname.split("/").slice(2);
      const [id, pinned] = parts;
      if (parts.length < 1 || parts.length > 2 || !id || !MODEL_ID.test(id)) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return true;
      }
      if (pinned !== undefined && !SHA256.test(pinned)) {
        notFound(res, "a model's sha256 is 64 lowercase hex digits");
        return true;
      }
      const manifest = getManifest(id);
      const path = manifest ? modelFilePath(manifest) : dir ? join(dir, `${id}.onnx`) : null;
      const file = path ? await digest(path) : null;
      if (!file) {
        notFound(res, `no model ${id}`);
        return true;
      }
      if (pinned !== undefined && pinned !== file.sha256) {
        notFound(res, `model ${id} is not at sha256 ${pinned}`);
        return true;
      }
      const etag = `"${file.sha256}"`;
      const headers = {
        etag,
        "x-content-sha256": file.sha256,
        "cache-control":
          pinned !== undefined ? "public, max-age=31536000, immutable" : "public, no-cache",
        // Vehicle pages are cross-origin isolated (COEP) for WASM threads.
        "cross-origin-resource-policy": "cross-origin",
      };
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, headers).end();
        return true;
      }
      res.writeHead(200, {
        ...headers,
        "content-type": "application/octet-stream",
        "content-length": String(file.size),
      });
      if (req.method === "HEAD") res.end();
      else await pipeline(createReadStream(path as string), res).catch(() => res.destroy());
      return true;
    },
  };
}
