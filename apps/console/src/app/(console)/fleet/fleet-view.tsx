"use client";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import {
  Area,
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { useFleetFeed } from "~/components/fleet-feed";
import { Empty, ErrorState, Loading, PageHeader, Stat } from "~/components/ui";
import { clock, int, kwh, num, pct, power, sig, tops } from "~/lib/format";
import {
  datacenterEquivalents,
  REFERENCE_CARS,
  REFERENCE_DATACENTER_MW,
  referenceKW,
} from "~/lib/reference";
import { useTRPC } from "~/lib/trpc";

const DAY_MS = 24 * 3600_000;

function chartSpanMs(points: readonly { t: number }[]): number {
  return points.length ? points[points.length - 1]!.t - points[0]!.t : 0;
}

export function FleetView() {
  const { latest, samples, status, error } = useFleetFeed();
  const trpc = useTRPC();
  // The same "now" for every render of this minute keeps the query key stable.
  const since = useMemo(
    () => new Date(Math.floor(Date.now() / 60_000) * 60_000 - DAY_MS).toISOString(),
    [],
  );
  const byRegion = useQuery(
    trpc.operator.ledger.summary.queryOptions({ by: "region", from: since }),
  );
  const regions = useQuery(trpc.operator.regions.list.queryOptions());

  const chart = samples.map((s) => ({
    t: s.atMs,
    availableKW: s.availableKW,
    referenceKW: referenceKW(s.total),
  }));

  return (
    <>
      <PageHeader title="Fleet" description="Live figures from the server, every 2 seconds." />
      {status === "error" && !latest ? (
        <ErrorState error={error ?? "the fleet feed failed"} />
      ) : null}
      {!latest ? (
        <div className="card">
          <Loading label="Connecting to the fleet feed…" rows={4} />
        </div>
      ) : (
        <div className="stack">
          <section aria-label="Cars" className="grid grid-stats">
            <Stat
              label="Cars enrolled"
              value={int(latest.cars.total)}
              testId="stat-total"
              note={`${int(latest.cars.online)} online`}
            />
            <Stat
              label="Parked"
              value={int(latest.cars.byState.parked)}
              testId="stat-parked"
              note="online, not charging"
            />
            <Stat
              label="Charging"
              value={int(latest.cars.byState.charging)}
              note="online, plugged in"
            />
            <Stat
              label="Driving"
              value={int(latest.cars.byState.driving)}
              note="never given work"
            />
            <Stat
              label="Eligible now"
              value={int(latest.eligible)}
              testId="stat-eligible"
              note="pass every scheduler filter"
            />
            <Stat
              label="Quarantined"
              value={int(latest.cars.quarantined)}
              note="by verification or an operator"
            />
          </section>
          <section aria-label="Capacity" className="grid grid-stats">
            <Stat
              label="Available power"
              value={power(latest.availableKW)}
              testId="stat-kw"
              note="inference power of eligible cars"
            />
            <Stat
              label="Available compute"
              value={tops(latest.availableTops)}
              note="peak INT8 of eligible cars"
            />
            <Stat
              label="Utilization"
              value={
                latest.eligible > 0 ? pct(Math.min(1, latest.activeLeases / latest.eligible)) : "—"
              }
              note={`${int(latest.activeLeases)} active leases ÷ eligible cars`}
            />
            <Stat
              label="Queue depth"
              value={int(latest.queueDepth)}
              testId="stat-queue"
              note="work units waiting for a car"
            />
            <Stat
              label="Jobs"
              value={`${int(latest.jobs.running)} running`}
              note={`${int(latest.jobs.queued)} queued`}
            />
            <Stat
              label="Datacenter equivalents"
              value={sig(datacenterEquivalents(latest.availableKW))}
              note={`available power ÷ ${REFERENCE_DATACENTER_MW} MW`}
            />
          </section>
          <section className="card" aria-labelledby="chart-kw">
            <h2 id="chart-kw">Available power against the reference datacenter</h2>
            <p className="muted small" style={{ marginTop: 0 }}>
              The reference line is a {REFERENCE_DATACENTER_MW} MW AI datacenter scaled to this
              fleet: at about 1 kW of inference per car, {int(REFERENCE_CARS)} cars would match it,
              so a fleet of N cars is N ÷ {int(REFERENCE_CARS)} of it — N kW. Samples since this
              console was opened (up to 24 hours).
            </p>
            {chart.length < 2 ? (
              <Empty>Collecting samples…</Empty>
            ) : (
              <div
                className="chart"
                role="img"
                aria-label="Available kilowatts over time, with the scaled datacenter line"
              >
                <ResponsiveContainer>
                  <ComposedChart data={chart} margin={{ left: 8, right: 16, top: 8 }}>
                    <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
                    <XAxis
                      dataKey="t"
                      type="number"
                      domain={["dataMin", "dataMax"]}
                      tickFormatter={(t: number) => clock(t, chartSpanMs(chart) < 3600_000)}
                      stroke="var(--muted)"
                    />
                    <YAxis
                      stroke="var(--muted)"
                      tickFormatter={(v: number) => num(v, 1)}
                      unit=" kW"
                      width={80}
                    />
                    <Tooltip
                      labelFormatter={(v) => clock(Number(v), true)}
                      formatter={(v) => power(Number(v))}
                      contentStyle={{
                        background: "var(--panel)",
                        border: "1px solid var(--border)",
                      }}
                    />
                    <Legend />
                    <Area
                      name="Available"
                      dataKey="availableKW"
                      stroke="var(--chart-1)"
                      fill="var(--chart-1)"
                      fillOpacity={0.2}
                      isAnimationActive={false}
                    />
                    <Line
                      name={`${REFERENCE_DATACENTER_MW} MW datacenter, scaled`}
                      dataKey="referenceKW"
                      stroke="var(--chart-2)"
                      strokeDasharray="6 4"
                      dot={false}
                      isAnimationActive={false}
                    />
                  </ComposedChart>
                </ResponsiveContainer>
              </div>
            )}
          </section>
          <section className="card" aria-labelledby="chart-region">
            <h2 id="chart-region">By region, last 24 hours</h2>
            {byRegion.error ? (
              <ErrorState error={byRegion.error} retry={() => void byRegion.refetch()} />
            ) : !byRegion.data || !regions.data ? (
              <Loading />
            ) : (
              <>
                {byRegion.data.total.energyKWh === 0 ? (
                  <Empty>No work has been done in the last 24 hours yet.</Empty>
                ) : null}
                <p className="muted small" style={{ marginTop: 0 }}>
                  Energy the fleet put into validated and pending work, per grid zone.
                  {regions.data.some((r) => r.drained) ? " Drained regions take no new work." : ""}
                </p>
                <div
                  className="chart"
                  role="img"
                  aria-label="Energy by region over the last 24 hours"
                >
                  <ResponsiveContainer>
                    <BarChart
                      data={regions.data.map((r) => ({
                        region: r.drained ? `${r.name} (drained)` : r.name,
                        energyKWh: byRegion.data.rows.find((x) => x.key === r.id)?.energyKWh ?? 0,
                      }))}
                      margin={{ left: 8, right: 16, top: 8 }}
                    >
                      <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
                      <XAxis dataKey="region" stroke="var(--muted)" />
                      <YAxis
                        stroke="var(--muted)"
                        width={80}
                        tickFormatter={(v: number) => sig(v, 2)}
                        unit=" kWh"
                      />
                      <Tooltip
                        formatter={(v) => kwh(Number(v))}
                        contentStyle={{
                          background: "var(--panel)",
                          border: "1px solid var(--border)",
                        }}
                      />
                      <Bar
                        name="Energy"
                        dataKey="energyKWh"
                        fill="var(--chart-3)"
                        isAnimationActive={false}
                      />
                    </BarChart>
                  </ResponsiveContainer>
                </div>
              </>
            )}
          </section>
        </div>
      )}
    </>
  );
}
