import type { RuntimeInfo } from "@nightshift/agent/runtime";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app";
import { type PageSettings, readSettings } from "./settings";
import { VehicleWorker } from "./worker-client";
import "./styles.css";

// The tests and the benchmark drive the page through this handle.
declare global {
  interface Window {
    nightshiftVehicle?: { worker: VehicleWorker; ready: Promise<RuntimeInfo> };
  }
}

const root = createRoot(document.getElementById("root")!);
let settings: PageSettings | undefined;
try {
  settings = readSettings(window.location);
} catch (error) {
  // A bad address parameter: say which, rather than a blank page.
  root.render(
    <main>
      <h1>Nightshift vehicle</h1>
      <p className="error" role="alert">
        {error instanceof Error ? error.message : String(error)}
      </p>
    </main>,
  );
}

if (settings) {
  const worker = new VehicleWorker();
  const ready = worker.init(settings);
  window.nightshiftVehicle = { worker, ready };
  root.render(
    <StrictMode>
      <App worker={worker} settings={settings} ready={ready} />
    </StrictMode>,
  );
}
