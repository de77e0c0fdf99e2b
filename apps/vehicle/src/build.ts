// Builds the page for production (dist/), as `vite build` does; for tests, benchmarks and
// `npm start`, which serve the build. Node only.
import { fileURLToPath } from "node:url";

export const APP_ROOT = fileURLToPath(new URL("..", import.meta.url));

export async function buildVehicle(): Promise<void> {
  const { build } = await import("vite");
  await build({ root: APP_ROOT, logLevel: "warn" });
}
