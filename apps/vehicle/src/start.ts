// `npm start -w @nightshift/vehicle -- --server http://127.0.0.1:8787 --port 5180`: builds the
// page and serves it, passing the API through to the Nightshift server. Node only.
import { parseArgs } from "node:util";
import { buildVehicle } from "./build";
import { parseVehicleEnv } from "./env";
import { startVehicleServer } from "./serve";

const { values } = parseArgs({
  options: {
    server: { type: "string", default: parseVehicleEnv(process.env).NIGHTSHIFT_URL },
    port: { type: "string", default: "5180" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  throw new Error(`--port: expected a port number, got ${values.port}`);
}
await buildVehicle();
const server = await startVehicleServer({ port, host: values.host, serverUrl: values.server });
console.log(
  `vehicle page on ${server.url} (API: ${values.server}); open it in several tabs for several cars`,
);
process.once("SIGINT", () => void server.close().then(() => process.exit(0)));
process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
