// One production build of the page, one Nightshift server (its own embedded PostgreSQL) and
// the vehicle's static server in front of it, shared by every browser test file.
import { copyFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { MODELS } from "@nightshift/models/registry";
import { modelFilePath } from "@nightshift/models/files";
import { parseDemo, spawnServe, tempDir } from "@nightshift/server/testing";
import type { TestProject } from "vitest/node";
import { buildVehicle } from "../src/build";
import { startVehicleServer } from "../src/serve";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    vehicleUrl: string;
    tenantKey: string;
  }
}

export default async function setup(project: TestProject) {
  await buildVehicle();
  const dataDir = tempDir("nightshift-vehicle-test-");
  // The server serves model files from a folder of `<id>.onnx`.
  const modelsDir = tempDir("nightshift-vehicle-models-");
  for (const m of MODELS) copyFileSync(modelFilePath(m), join(modelsDir, `${m.id}.onnx`));
  const server = await spawnServe(["--port", "0", "--data", dataDir], {
    env: { NIGHTSHIFT_MODELS_DIR: modelsDir, NIGHTSHIFT_SWEEP_INTERVAL_S: "1" },
    startTimeoutMs: 120_000,
  });
  const vehicle = await startVehicleServer({ port: 0, serverUrl: server.url });
  const [, tenantKey] = [...parseDemo(server.banner).tenantKeys][0] ?? [];
  if (!tenantKey)
    throw new Error(`the server printed no demo tenant key:\n${server.banner.join("\n")}`);
  project.provide("serverUrl", server.url);
  project.provide("vehicleUrl", vehicle.url);
  project.provide("tenantKey", tenantKey);

  return async () => {
    await vehicle.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(modelsDir, { recursive: true, force: true });
  };
}
