// The vehicle page. onnxruntime-web is not bundled: its builds load at run time from /ort/
// (see src/ort-files.ts), so the WASM and WebGPU builds stay separate files that the worker
// imports only when it needs them, and their .wasm files are served as they ship.
import { readFileSync } from "node:fs";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { parseVehicleEnv } from "./src/env.ts";
import { ORT_DIST_DIR, ORT_FILES, ORT_PREFIX } from "./src/ort-files.ts";

const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/** Copies onnxruntime-web's runtime files into the build, and serves them in development. */
function ortFiles(): Plugin {
  return {
    name: "nightshift-ort-files",
    generateBundle() {
      for (const file of ORT_FILES) {
        this.emitFile({
          type: "asset",
          fileName: `${ORT_PREFIX.slice(1)}${file}`,
          source: readFileSync(`${ORT_DIST_DIR}/${file}`),
        });
      }
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? "").split("?")[0] ?? "";
        const file = path.startsWith(ORT_PREFIX) ? path.slice(ORT_PREFIX.length) : "";
        if (!(ORT_FILES as readonly string[]).includes(file)) return next();
        res.setHeader(
          "content-type",
          file.endsWith(".wasm") ? "application/wasm" : "text/javascript; charset=utf-8",
        );
        for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
        res.end(readFileSync(`${ORT_DIST_DIR}/${file}`));
      });
    },
  };
}

const upstream = parseVehicleEnv(process.env).NIGHTSHIFT_URL;

export default defineConfig({
  plugins: [react(), ortFiles()],
  worker: { format: "es" },
  build: { target: "es2022", chunkSizeWarningLimit: 1024 },
  server: {
    headers: ISOLATION_HEADERS,
    proxy: Object.fromEntries(
      ["/trpc", "/models", "/inputs", "/healthz"].map((p) => [p, { target: upstream }]),
    ),
  },
  preview: { headers: ISOLATION_HEADERS },
});
