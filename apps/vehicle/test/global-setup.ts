// One production build of the page, one Nightshift server (its own embedded PostgreSQL) and
// the vehicle's static server in front of it, shared by every browser test file.
import { copyFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { MODELS } from "@nightshift/models/registry";
import { modelFilePath } from "@nightshift/models/files";
import { parseDemo, spawnServe, tempDir } from "@nightshift/server-testkit/serve";
import type { TestProject } from "vitest/node";
import { buildVehicle } from "../src/build";
import { startVehicleServer } from "../src/serve";

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    vehicleUrl: string;
    tenantKey: string;
    /** The demo fleet's code, for headless cars (tabs enroll with the public DEMO-NIGHTSHIFT). */
    fleetCode: string;
    /** A port the server allows as a CORS origin (http://127.0.0.1:PORT), for a page that calls it directly. */
    corsPort: number;
  }
}

/** A port free now (the OS picks it; it is released at once for the test to listen on). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export default async function setup(project: TestProject) {
  await buildVehicle();
  const dataDir = tempDir("nightshift-vehicle-test-");
  // The server serves model files from a folder of `<id>.onnx`.
  const modelsDir = tempDir("nightshift-vehicle-models-");
  for (const m of MODELS) copyFileSync(modelFilePath(m), join(modelsDir, `${m.id}.onnx`));
  const corsPort = await freePort();
  const server = await spawnServe(["--port", "0", "--data", dataDir, "--demo"], {
    env: {
      NIGHTSHIFT_MODELS_DIR: modelsDir,
      NIGHTSHIFT_SWEEP_INTERVAL_S: "1",
      NIGHTSHIFT_CORS_ORIGINS: `http://127.0.0.1:${corsPort}`,
    },
    startTimeoutMs: 120_000,
  });
  const vehicle = await startVehicleServer({ port: 0, serverUrl: server.url });
  const demo = parseDemo(server.banner);
  const [, tenantKey] = [...demo.tenantKeys][0] ?? [];
  if (!tenantKey || !demo.enrollmentCode)
    throw new Error(`the server printed no demo tenant key or code:\n${server.banner.join("\n")}`);
  project.provide("serverUrl", server.url);
  project.provide("vehicleUrl", vehicle.url);
  project.provide("tenantKey", tenantKey);
  project.provide("fleetCode", demo.enrollmentCode);
  project.provide("corsPort", corsPort);

  return async () => {
    await vehicle.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(modelsDir, { recursive: true, force: true });
  };
}
