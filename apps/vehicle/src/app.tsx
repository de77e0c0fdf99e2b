// The vehicle page: which car this tab is, what it runs on, the owner's controls, its work.
import { getManifest, MODELS } from "@nightshift/models/registry";
import type { RuntimeInfo } from "@nightshift/agent/runtime";
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { NodeView, TaskView, TwinSettings } from "./protocol";
import { loadCredential, type PageSettings, saveCredential } from "./settings";
import type { VehicleWorker } from "./worker-client";
import { syntheticFeeds } from "./synthetic";

const DEFAULT_TWIN: TwinSettings = {
  driving: false,
  pluggedIn: true,
  chargerKW: 7.4,
  socPct: 80,
  reservePct: 20,
  departure: null,
  allowedHours: { startHour: 0, endHour: 24 },
};

interface BatteryManagerLike extends EventTarget {
  charging: boolean;
  level: number;
}

export function App({
  worker,
  settings,
  ready,
}: {
  worker: VehicleWorker;
  settings: PageSettings;
  ready: Promise<RuntimeInfo>;
}) {
  const info = useSyncExternalStore(
    (l) => worker.subscribe(l),
    () => worker.info,
  );
  const node = useSyncExternalStore(
    (l) => worker.subscribe(l),
    () => worker.node,
  );
  const [twin, setTwin] = useState<TwinSettings>(DEFAULT_TWIN);
  const twinRef = useRef(twin);
  const [joined, setJoined] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [useDeviceBattery, setUseDeviceBattery] = useState(false);

  // An engine that cannot start (no WebGPU when forced, ort files missing) says so.
  useEffect(() => {
    ready.catch((e: unknown) =>
      setError(`The engine did not start: ${e instanceof Error ? e.message : String(e)}`),
    );
  }, [ready]);

  // Join the fleet once the engine is ready: enroll, or come back as the car this tab already is.
  useEffect(() => {
    if (!settings.join) return;
    let cancelled = false;
    worker.onCredential = (c) => saveCredential(sessionStorage, settings.serverUrl, c);
    ready
      .then(() =>
        worker.join(
          settings.code,
          loadCredential(sessionStorage, settings.serverUrl),
          settings.name,
          twinRef.current,
        ),
      )
      .then(() => !cancelled && setJoined(true))
      .catch((e: unknown) => !cancelled && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      cancelled = true;
    };
  }, [worker, settings, ready]);

  useEffect(() => {
    twinRef.current = twin;
    if (joined) void worker.setTwin(twin).catch((e: unknown) => setError(String(e)));
  }, [worker, twin, joined]);

  // The device's own battery as the plug-in signal: a laptop on its charger is a car plugged in.
  useEffect(() => {
    if (!useDeviceBattery) return;
    const getBattery = (navigator as Navigator & { getBattery?: () => Promise<BatteryManagerLike> })
      .getBattery;
    if (!getBattery) {
      setError("This browser has no Battery Status API");
      setUseDeviceBattery(false);
      return;
    }
    let battery: BatteryManagerLike | undefined;
    const sync = () => battery && setTwin((t) => ({ ...t, pluggedIn: battery!.charging }));
    void getBattery.call(navigator).then((b) => {
      battery = b;
      sync();
      b.addEventListener("chargingchange", sync);
    });
    return () => battery?.removeEventListener("chargingchange", sync);
  }, [useDeviceBattery]);

  return (
    <main>
      <header>
        <h1>Nightshift vehicle</h1>
        <div className="chips">
          <span className="chip" data-testid="car-id">
            {node?.carId
              ? `car ${node.carId.slice(0, 8)}`
              : settings.join
                ? "joining…"
                : "not joined"}
          </span>
          <span className={`chip backend-${info?.backend ?? "none"}`} data-testid="backend">
            {info ? info.detail : "starting the engine…"}
          </span>
          <HeartbeatChip node={node} />
        </div>
      </header>
      {(error ?? node?.error) && (
        <p className="error" role="alert">
          {error ?? node?.error}
        </p>
      )}
      <div className="grid">
        <CarCard
          twin={twin}
          setTwin={setTwin}
          useDeviceBattery={useDeviceBattery}
          setUseDeviceBattery={setUseDeviceBattery}
        />
        <WorkCard node={node} />
        <SelfTestCard worker={worker} info={info} />
      </div>
      <TasksCard tasks={node?.tasks ?? []} />
    </main>
  );
}

function HeartbeatChip({ node }: { node: NodeView | null }) {
  if (!node?.lastHeartbeatAt) return null;
  const directives = node.directives.length > 0 ? ` · ${node.directives.join(", ")}` : "";
  return (
    <span className="chip" data-testid="heartbeat">
      heartbeat {new Date(node.lastHeartbeatAt).toLocaleTimeString()}
      {directives}
    </span>
  );
}

function CarCard({
  twin,
  setTwin,
  useDeviceBattery,
  setUseDeviceBattery,
}: {
  twin: TwinSettings;
  setTwin: (update: (t: TwinSettings) => TwinSettings) => void;
  useDeviceBattery: boolean;
  setUseDeviceBattery: (on: boolean) => void;
}) {
  const set = (patch: Partial<TwinSettings>) => setTwin((t) => ({ ...t, ...patch }));
  return (
    <section className="card">
      <h2>Car</h2>
      <div className="segmented" role="group" aria-label="Drive state">
        <button aria-pressed={!twin.driving} onClick={() => set({ driving: false })}>
          Parked
        </button>
        <button
          aria-pressed={twin.driving}
          data-testid="drive"
          onClick={() => set({ driving: true })}
        >
          Driving
        </button>
      </div>
      <label className="row">
        <input
          type="checkbox"
          checked={twin.pluggedIn}
          disabled={useDeviceBattery || twin.driving}
          onChange={(e) => set({ pluggedIn: e.target.checked })}
        />
        Plugged in ({twin.chargerKW} kW)
      </label>
      <label className="row">
        <input
          type="checkbox"
          checked={useDeviceBattery}
          onChange={(e) => setUseDeviceBattery(e.target.checked)}
        />
        Use this device&apos;s battery as the plug
      </label>
      <label>
        State of charge: {twin.socPct}%
        <input
          type="range"
          min={0}
          max={100}
          value={twin.socPct}
          onChange={(e) => set({ socPct: Number(e.target.value) })}
        />
      </label>
      <label>
        Owner reserve: {twin.reservePct}%
        <input
          type="range"
          min={0}
          max={90}
          value={twin.reservePct}
          onChange={(e) => set({ reservePct: Number(e.target.value) })}
        />
      </label>
      <label>
        Departure
        <input
          type="time"
          value={twin.departure ?? ""}
          onChange={(e) => set({ departure: e.target.value || null })}
        />
      </label>
      <div className="row">
        <label>
          Work from
          <HourSelect
            value={twin.allowedHours.startHour}
            onChange={(startHour) => set({ allowedHours: { ...twin.allowedHours, startHour } })}
          />
        </label>
        <label>
          until
          <HourSelect
            value={twin.allowedHours.endHour}
            onChange={(endHour) => set({ allowedHours: { ...twin.allowedHours, endHour } })}
          />
        </label>
      </div>
    </section>
  );
}

function HourSelect({ value, onChange }: { value: number; onChange: (h: number) => void }) {
  return (
    <select value={value} onChange={(e) => onChange(Number(e.target.value))}>
      {Array.from({ length: 25 }, (_, h) => (
        <option key={h} value={h}>
          {String(h).padStart(2, "0")}:00
        </option>
      ))}
    </select>
  );
}

function WorkCard({ node }: { node: NodeView | null }) {
  const finished = (node?.tasks ?? []).filter((t) => t.latencyMs !== undefined);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const latencyMs = mean(finished.map((t) => t.latencyMs!));
  const runMs = mean(finished.map((t) => t.runMs ?? 0));
  // Throughput over the tasks listed: from the first one's start to the last one's end.
  const first = finished.at(-1)?.startedAt;
  const last = finished[0]?.finishedAt;
  const perMinute =
    first !== undefined && last !== undefined && last > first
      ? (finished.length / (last - first)) * 60_000
      : null;
  const running = node?.tasks.filter((t) => t.outcome === "running").length ?? 0;
  return (
    <section className="card">
      <h2>Work</h2>
      <dl className="stats">
        <dt>Car</dt>
        <dd data-testid="state">
          {node?.state ?? "—"}
          {node?.socPct != null ? `, ${node.socPct.toFixed(1)}%` : ""}
        </dd>
        <dt>Takes work</dt>
        <dd data-testid="blocker">
          {node?.state ? (node.blocker ? `no: ${node.blocker}` : "yes") : "—"}
        </dd>
        <dt>Running</dt>
        <dd data-testid="running">{running}</dd>
        <dt>Done (accepted)</dt>
        <dd data-testid="done">{node?.done ?? 0}</dd>
        <dt>Failed · handed back</dt>
        <dd data-testid="failed">
          {node?.failed ?? 0} · {node?.handedBack ?? 0}
        </dd>
        <dt>Latency · engine</dt>
        <dd>
          {latencyMs === null ? "—" : `${latencyMs.toFixed(0)} ms · ${(runMs ?? 0).toFixed(1)} ms`}
        </dd>
        <dt>Throughput</dt>
        <dd>{perMinute === null ? "—" : `${perMinute.toFixed(1)} tasks/min`}</dd>
        <dt>Energy used</dt>
        <dd>{((node?.energyKWh ?? 0) * 1000).toFixed(3)} Wh</dd>
        <dt>Validated results</dt>
        <dd>{node?.validated ?? 0}</dd>
        <dt>Earnings</dt>
        <dd data-testid="earnings">${(node?.earningsUsd ?? 0).toFixed(4)}</dd>
      </dl>
    </section>
  );
}

function SelfTestCard({ worker, info }: { worker: VehicleWorker; info: RuntimeInfo | null }) {
  const [modelId, setModelId] = useState(MODELS[0]!.id);
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      const m = getManifest(modelId)!;
      const r = await worker.selfTest(modelId, syntheticFeeds(m, 1));
      const head = Array.from(r.output.data.slice(0, 4), (x) => x.toFixed(4)).join(", ");
      setResult(
        `${r.backend}: ${r.durationMs.toFixed(1)} ms, output [${r.output.dims.join("×")}] ${head}…`,
      );
    } catch (e) {
      setResult(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card">
      <h2>Engine check</h2>
      <p className="muted">Runs a model once on a made-up input, outside the fleet&apos;s work.</p>
      <div className="row">
        <select value={modelId} onChange={(e) => setModelId(e.target.value)}>
          {MODELS.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id}
            </option>
          ))}
        </select>
        <button disabled={busy || !info} onClick={() => void run()}>
          {busy ? "Running…" : "Run"}
        </button>
        {info?.backend === "webgpu" && (
          <button className="secondary" onClick={() => void worker.loseGpu()}>
            Lose the GPU
          </button>
        )}
      </div>
      {result && <p data-testid="self-test">{result}</p>}
    </section>
  );
}

function TasksCard({ tasks }: { tasks: TaskView[] }) {
  return (
    <section className="card wide">
      <h2>Tasks</h2>
      {tasks.length === 0 ? (
        <p className="muted">No tasks yet.</p>
      ) : (
        <table data-testid="tasks">
          <thead>
            <tr>
              <th>Task</th>
              <th>Model</th>
              <th>Outcome</th>
              <th>Backend</th>
              <th className="num">Batch</th>
              <th className="num">Latency</th>
              <th className="num">Engine</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.leaseId}>
                <td className="mono">{t.taskId ? t.taskId.slice(0, 8) : "—"}</td>
                <td>{t.modelId || "—"}</td>
                <td>
                  <span className={`outcome outcome-${t.outcome}`}>{t.outcome}</span>
                  {t.detail && <span className="muted"> {t.detail}</span>}
                </td>
                <td>{t.backend ?? ""}</td>
                <td className="num">{t.batch ?? ""}</td>
                <td className="num">
                  {t.latencyMs === undefined ? "" : `${t.latencyMs.toFixed(0)} ms`}
                </td>
                <td className="num">{t.runMs === undefined ? "" : `${t.runMs.toFixed(1)} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
