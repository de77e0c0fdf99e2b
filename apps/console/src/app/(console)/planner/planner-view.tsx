"use client";
// The capacity planner: core's simulator in a Web Worker with the operator's parameters. The page
// stays responsive while it runs; Stop ends the worker.
import type { SimResult } from "@nightshift/core/sim/simulate";
import { DEFAULT_START_DATE } from "@nightshift/time-zones/sim-offsets";
import { formatCarbonG, formatPowerKW, formatUsd, powerAxis } from "@nightshift/units/format";
import { useEffect, useRef, useState } from "react";
import {
  Area,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { PageHeader, Progress, Stat } from "~/components/ui";
import { maxOf, valueAxis } from "~/lib/chart-axis";
import { int, num, pct, sig } from "~/lib/format";
import { checkParams, HARDWARE_IDS, MAX_VEHICLES, type PlanMessage, type PlanParams } from "./plan";

const DEFAULTS: PlanParams = {
  vehicles: 10_000,
  hours: 24,
  seed: 7,
  // The CLI's default: the planner and `nightshift simulate` give the same figures.
  startDate: DEFAULT_START_DATE,
  optInShare: 0.6,
  plugInProbability: 0.8,
  reserveMinPct: 20,
  reserveMaxPct: 40,
  hardwareMix: {
    "fsd-hw3": 30,
    "drive-orin": 20,
    "fsd-hw4": 30,
    "drive-thor": 10,
    "ai5-class": 10,
  },
};

const HARDWARE_NAMES: Record<(typeof HARDWARE_IDS)[number], string> = {
  "fsd-hw3": "Tesla HW3",
  "drive-orin": "DRIVE Orin",
  "fsd-hw4": "Tesla HW4",
  "drive-thor": "DRIVE Thor",
  "ai5-class": "AI5-class (~1 kW)",
};

/** Above this, the simulation takes minutes and gigabytes of the tab's memory. */
const LARGE_FLEET = 200_000;
const tooltipStyle = { background: "var(--panel)", border: "1px solid var(--border)" };
/** Room for the x axis's last label, centred on the plot's right end (a clock label is ~36 px). */
const CHART_MARGIN = { left: 8, right: 24, top: 8 };

type Run =
  | { state: "idle" }
  | { state: "running"; share: number; startedMs: number }
  | { state: "done"; result: SimResult; elapsedMs: number }
  | { state: "error"; message: string };

function hourOf(t: number) {
  return `${String(Math.floor(t / 3600) % 24).padStart(2, "0")}:${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}`;
}

export function PlannerView() {
  const [params, setParams] = useState<PlanParams>(DEFAULTS);
  const [run, setRun] = useState<Run>({ state: "idle" });
  const [nowMs, setNowMs] = useState(0);
  const worker = useRef<Worker | null>(null);
  const problems = checkParams(params);

  useEffect(() => () => worker.current?.terminate(), []);
  useEffect(() => {
    if (run.state !== "running") return;
    const timer = setInterval(() => setNowMs(performance.now()), 500);
    return () => clearInterval(timer);
  }, [run.state]);

  function start() {
    worker.current?.terminate();
    const w = new Worker(new URL("./planner.worker.ts", import.meta.url), { type: "module" });
    worker.current = w;
    const startedMs = performance.now();
    setNowMs(startedMs);
    setRun({ state: "running", share: 0, startedMs });
    w.onmessage = (e: MessageEvent<PlanMessage>) => {
      const m = e.data;
      if (m.type === "progress")
        setRun((r) => (r.state === "running" ? { ...r, share: m.share } : r));
      else {
        setRun(
          m.type === "done"
            ? { state: "done", result: m.result, elapsedMs: m.elapsedMs }
            : { state: "error", message: m.message },
        );
        w.terminate();
        worker.current = null;
      }
    };
    w.onerror = (e) => {
      setRun({ state: "error", message: e.message || "the simulation stopped (out of memory?)" });
      w.terminate();
      worker.current = null;
    };
    w.postMessage({ params });
  }

  function stop() {
    worker.current?.terminate();
    worker.current = null;
    setRun({ state: "idle" });
  }

  const set = <K extends keyof PlanParams>(key: K, value: PlanParams[K]) =>
    setParams({ ...params, [key]: value });
  const running = run.state === "running";

  return (
    <>
      <PageHeader
        title="Capacity planner"
        description="How much a fleet is worth, hour by hour: the same scheduler, energy model and verification as the server, simulated in your browser."
      />
      <div className="stack">
        <form
          className="card stack"
          onSubmit={(e) => {
            e.preventDefault();
            if (!problems.length) start();
          }}
        >
          <div className="form-grid">
            <label className="field">
              <span>Fleet size (cars)</span>
              <input
                type="number"
                min={1}
                max={MAX_VEHICLES}
                step={1}
                value={params.vehicles}
                onChange={(e) => set("vehicles", Number(e.target.value))}
              />
            </label>
            <label className="field">
              <span>Hours simulated</span>
              <input
                type="number"
                min={1}
                max={168}
                value={params.hours}
                onChange={(e) => set("hours", Number(e.target.value))}
              />
            </label>
            <label className="field">
              <span>Seed</span>
              <input
                type="number"
                min={0}
                step={1}
                value={params.seed}
                onChange={(e) => set("seed", Number(e.target.value))}
              />
            </label>
            <label className="field">
              <span>Start date (00:00 UTC)</span>
              <input
                type="date"
                min="1970-01-01"
                max="2199-12-31"
                value={params.startDate}
                onChange={(e) => set("startDate", e.target.value)}
              />
            </label>
            <label className="field">
              <span>Participation (owners opted in): {pct(params.optInShare)}</span>
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={params.optInShare}
                onChange={(e) => set("optInShare", Number(e.target.value))}
              />
            </label>
            <label className="field">
              <span>Plug-in rate at home: {pct(params.plugInProbability)}</span>
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={params.plugInProbability}
                onChange={(e) => set("plugInProbability", Number(e.target.value))}
              />
            </label>
            <label className="field">
              <span>Owner reserve, lowest (%)</span>
              <input
                type="number"
                min={0}
                max={100}
                step={5}
                value={params.reserveMinPct}
                onChange={(e) => set("reserveMinPct", Number(e.target.value))}
              />
            </label>
            <label className="field">
              <span>Owner reserve, highest (%)</span>
              <input
                type="number"
                min={0}
                max={100}
                step={5}
                value={params.reserveMaxPct}
                onChange={(e) => set("reserveMaxPct", Number(e.target.value))}
              />
            </label>
          </div>
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <legend className="small" style={{ fontWeight: 550, marginBottom: "0.4rem" }}>
              Hardware mix (relative shares)
            </legend>
            <div className="form-grid">
              {HARDWARE_IDS.map((h) => (
                <label key={h} className="field">
                  <span>{HARDWARE_NAMES[h]}</span>
                  <input
                    type="number"
                    min={0}
                    step="any"
                    value={params.hardwareMix[h]}
                    onChange={(e) =>
                      set("hardwareMix", { ...params.hardwareMix, [h]: Number(e.target.value) })
                    }
                  />
                </label>
              ))}
            </div>
          </fieldset>
          {problems.length ? (
            <ul className="alert error" role="alert" style={{ margin: 0, paddingLeft: "1.5rem" }}>
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          ) : params.vehicles > LARGE_FLEET ? (
            <p className="alert" style={{ margin: 0 }}>
              {int(params.vehicles)} cars take minutes and gigabytes of this tab&apos;s memory: the
              simulator&apos;s own benchmark takes about 7 minutes and 2.9 GB for 1,000,000 cars
              over 24 hours.
            </p>
          ) : null}
          <div className="row">
            <button type="submit" className="primary" disabled={running || problems.length > 0}>
              Run the simulation
            </button>
            {running ? (
              <button type="button" onClick={stop}>
                Stop
              </button>
            ) : null}
            <button type="button" onClick={() => setParams(DEFAULTS)} disabled={running}>
              Defaults
            </button>
          </div>
          {running ? (
            <div className="stack" style={{ gap: "0.35rem" }} aria-live="polite">
              <Progress value={run.share} label="Simulation progress" />
              <span className="small muted" data-testid="planner-progress">
                {Math.round(run.share * 100)}% of the simulated time —{" "}
                {num((nowMs - run.startedMs) / 1000, 0)} s
              </span>
            </div>
          ) : null}
          {run.state === "error" ? (
            <p className="alert error" role="alert" style={{ margin: 0 }}>
              {run.message}
            </p>
          ) : null}
        </form>
        {run.state === "done" ? <Results result={run.result} elapsedMs={run.elapsedMs} /> : null}
      </div>
    </>
  );
}

function Results({ result, elapsedMs }: { result: SimResult; elapsedMs: number }) {
  const s = result.summary;
  const refKW = s.referenceDatacenterMW * 1000;
  // The datacenter's line only where it does not flatten the fleet's curve to nothing.
  const showReference = s.availableKW.peak >= refKW * 0.05;
  const points = result.series.map((p) => ({
    t: hourOf(p.t),
    availableKW: p.availableKW,
    referenceKW: refKW,
    parked: p.parked,
    plugged: p.plugged,
    eligible: p.eligible,
  }));
  const powerTicks = valueAxis(
    maxOf(points, showReference ? ["availableKW", "referenceKW"] : ["availableKW"]),
    powerAxis,
  );
  const carTicks = valueAxis(maxOf(points, ["parked", "plugged", "eligible"]), (ticks) =>
    ticks.every(Number.isInteger) ? int : (v) => num(v, 2),
  );
  return (
    <div className="stack" data-testid="planner-results">
      <section className="grid grid-stats" aria-label="Summary">
        <Stat
          label="Datacenter equivalents"
          value={sig(s.datacenterEquivalents.peak)}
          testId="planner-dc-peak"
          note={`peak compute vs ${s.referenceDatacenter}; mean ${sig(s.datacenterEquivalents.mean)}`}
        />
        <Stat
          label="Power equivalents"
          value={sig(s.datacenterPowerEquivalents.peak)}
          note={`peak power vs its ${int(s.referenceDatacenterMW)} MW; mean ${sig(s.datacenterPowerEquivalents.mean)}`}
        />
        <Stat
          label="H100 equivalents"
          value={int(s.h100Equivalents.peak)}
          note={`peak; mean ${int(s.h100Equivalents.mean)}`}
        />
        <Stat
          label="Available power"
          value={formatPowerKW(s.availableKW.peak)}
          note={`peak; mean ${formatPowerKW(s.availableKW.mean)}, low ${formatPowerKW(s.availableKW.min)}`}
        />
        <Stat
          label="Eligible share"
          value={pct(s.eligibleShare, 1)}
          note={`parked ${pct(s.parkedShare)}, plugged ${pct(s.pluggedShare)}`}
        />
        <Stat
          label="Tasks completed"
          value={int(s.tasksCompleted)}
          note={`${int(s.tasksLostToDepartures)} lost to departures`}
        />
        <Stat
          label="Cost per kWh"
          value={s.costUsdPerKWh === null ? "—" : formatUsd(s.costUsdPerKWh)}
          note={`${formatUsd(s.costUsd)} in all`}
        />
        <Stat
          label="Owners paid"
          value={formatUsd(s.ownerPayoutUsd)}
          note={formatCarbonG(s.carbonKg * 1000)}
        />
      </section>
      <section className="card" aria-labelledby="plan-curve">
        <h2 id="plan-curve">Available power over the day (UTC)</h2>
        <p className="muted small" style={{ marginTop: 0 }}>
          {showReference
            ? `The dashed line is the reference datacenter (${s.referenceDatacenter}, ${int(s.referenceDatacenterMW)} MW).`
            : `The reference datacenter (${int(s.referenceDatacenterMW)} MW) is over 20× this fleet's peak, so it is left off the chart.`}{" "}
          Simulated {int(s.vehicles)} cars for {s.hours} h in {num(elapsedMs / 1000, 1)} s.
        </p>
        <div className="chart" role="img" aria-label="Available power over the simulated day">
          <ResponsiveContainer>
            <ComposedChart data={points} margin={CHART_MARGIN}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="t" stroke="var(--muted)" minTickGap={24} />
              <YAxis
                stroke="var(--muted)"
                width={powerTicks.widthPx}
                ticks={powerTicks.ticks}
                domain={powerTicks.domain}
                interval={0}
                tickFormatter={powerTicks.label}
              />
              <Tooltip formatter={(v) => formatPowerKW(Number(v))} contentStyle={tooltipStyle} />
              <Legend />
              <Area
                name="Available"
                dataKey="availableKW"
                stroke="var(--chart-1)"
                fill="var(--chart-1)"
                fillOpacity={0.2}
                isAnimationActive={false}
              />
              {showReference ? (
                <Line
                  name="Reference datacenter"
                  dataKey="referenceKW"
                  stroke="var(--chart-2)"
                  strokeDasharray="6 4"
                  dot={false}
                  isAnimationActive={false}
                />
              ) : null}
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      </section>
      <section className="card" aria-labelledby="plan-cars">
        <h2 id="plan-cars">Cars parked, plugged in and eligible</h2>
        <div
          className="chart"
          role="img"
          aria-label="Cars parked, plugged in and eligible over the simulated day"
        >
          <ResponsiveContainer>
            <LineChart data={points} margin={CHART_MARGIN}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="t" stroke="var(--muted)" minTickGap={24} />
              <YAxis
                stroke="var(--muted)"
                width={carTicks.widthPx}
                ticks={carTicks.ticks}
                domain={carTicks.domain}
                interval={0}
                tickFormatter={carTicks.label}
              />
              <Tooltip formatter={(v) => int(Number(v))} contentStyle={tooltipStyle} />
              <Legend />
              <Line
                name="Parked"
                dataKey="parked"
                stroke="var(--chart-5)"
                dot={false}
                isAnimationActive={false}
              />
              <Line
                name="Plugged in"
                dataKey="plugged"
                stroke="var(--chart-3)"
                dot={false}
                isAnimationActive={false}
              />
              <Line
                name="Eligible"
                dataKey="eligible"
                stroke="var(--chart-1)"
                dot={false}
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        </div>
      </section>
    </div>
  );
}
