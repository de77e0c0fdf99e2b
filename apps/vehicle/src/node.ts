// The car this tab stands for: enrolled once (its credential lives in the tab's sessionStorage),
// then heartbeats carrying the owner's settings. The work loop joins here.
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import type { InferenceRuntime, ModelStore } from "@nightshift/agent/runtime";
import type { NodeView, TwinSettings } from "./protocol";

export interface VehicleNodeOptions {
  serverUrl: string;
  runtime: InferenceRuntime;
  store: ModelStore;
  code: string;
  credential: string | null;
  name?: string;
  onView(view: NodeView): void;
}

export interface VehicleNode {
  carId: string;
  credential: string;
  setTwin(twin: TwinSettings): void;
}

export const HEARTBEAT_INTERVAL_MS = 5_000;

/** The next time "HH:MM" comes round, as an ISO date. */
export function nextDepartureIso(departure: string | null, nowMs: number): string | null {
  if (!departure) return null;
  const match = /^(\d{1,2}):(\d{2})$/.exec(departure);
  if (!match) return null;
  const at = new Date(nowMs);
  at.setHours(Number(match[1]), Number(match[2]), 0, 0);
  if (at.getTime() <= nowMs) at.setDate(at.getDate() + 1);
  return at.toISOString();
}

export async function startNode(options: VehicleNodeOptions): Promise<VehicleNode> {
  let credential = options.credential;
  let carId: string;
  if (credential) {
    const me = await createNightshiftClient({ url: options.serverUrl, credential }).node.me.query();
    carId = me.carId;
  } else {
    const anonymous = createNightshiftClient({ url: options.serverUrl });
    const enrolled = await anonymous.node.enroll.mutate({
      code: options.code,
      ...(options.name ? { name: options.name } : {}),
    });
    credential = enrolled.credential;
    carId = enrolled.carId;
  }
  const client: NightshiftClient = createNightshiftClient({ url: options.serverUrl, credential });
  const view: NodeView = {
    carId,
    joined: true,
    working: false,
    lastHeartbeatAt: null,
    directives: [],
    error: null,
    tasks: [],
    done: 0,
    failed: 0,
    energyKWh: 0,
    earningsUsd: 0,
    validated: 0,
  };
  let twin: TwinSettings | null = null;
  const publish = () => options.onView({ ...view, tasks: [...view.tasks] });

  const beat = async () => {
    if (!twin) return;
    try {
      const answer = await client.node.heartbeat.mutate({
        state: twin.driving ? "driving" : twin.pluggedIn ? "charging" : "parked",
        socPct: twin.socPct,
        pluggedIn: !twin.driving && twin.pluggedIn,
        chargerKW: !twin.driving && twin.pluggedIn ? twin.chargerKW : 0,
        predictedDepartureAt: twin.driving ? null : nextDepartureIso(twin.departure, Date.now()),
      });
      const me = await client.node.me.query();
      view.lastHeartbeatAt = Date.now();
      view.directives = answer.directives;
      view.energyKWh = me.earnings.energyKWh;
      view.earningsUsd = me.earnings.payoutOwedUsd + me.earnings.payoutUsd;
      view.validated = me.earnings.validated;
      view.error = null;
    } catch (error) {
      view.error = error instanceof Error ? error.message : String(error);
    }
    publish();
  };
  setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);
  publish();

  return {
    carId,
    credential,
    setTwin(next) {
      twin = next;
      void beat();
    },
  };
}
