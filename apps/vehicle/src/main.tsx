import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app";
import { readSettings } from "./settings";
import { VehicleWorker } from "./worker-client";
import "./styles.css";

const settings = readSettings(window.location);
const worker = new VehicleWorker();
const ready = worker.init(settings);

// The tests and the benchmark drive the page through this handle.
declare global {
  interface Window {
    nightshiftVehicle?: { worker: VehicleWorker; ready: typeof ready };
  }
}
window.nightshiftVehicle = { worker, ready };

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App worker={worker} settings={settings} ready={ready} />
  </StrictMode>,
);
