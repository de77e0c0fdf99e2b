"use client";
// The Fleet page: live counters (the fleet feed, every 2 s), why the cars that are not eligible
// cannot take work, the day's available power against a datacenter, each region now, and the
// day's energy by region.
import { energyAxis, formatEnergyKWh, formatPowerKW, formatShare } from "@nightshift/units/format";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { memo, useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useFleetFeed } from "~/components/fleet-feed";
import { Empty, ErrorState, Loading, PageHeader, Stat, TableScroll } from "~/components/ui";
import { maxOf, valueAxis } from "~/lib/chart-axis";
import { int, pct, tops } from "~/lib/format";
import type { FleetSample } from "~/lib/live-samples";
import { datacenterShare, REFERENCE_DATACENTER, referenceNote } from "~/lib/reference";
import { topRefusals } from "~/lib/refusals";
import { type RouterOutputs, useTRPC, useTRPCClient } from "~/lib/trpc";
import {
  type ChartRow,
  chartRows,
  DAY_MS,
  downsample,
  type FleetDay,
  MAX_CHART_POINTS,
  mergeDay,
  seriesRequest,
} from "./chart-data";
import { FleetChart } from "./fleet-chart";

/**
 * How often, at most, the 24-hour chart takes in the live feed; the counters above it change
 * with every 2-second sample.
 */
const CHART_REFRESH_MS = 15_000;
/** The server samples once a minute: asking as often for what it added is enough. */
const SERIES_REFRESH_MS = 60_000;

type RegionList = RouterOutputs["operator"]["regions"]["list"];
type LedgerSummary = RouterOutputs["operator"]["ledger"]["summary"];

interface Charted {
  rows: ChartRow[];
  /** Minute samples from the server among them. */
  sampled: number;
  day: FleetDay | undefined;
  samples: readonly FleetSample[];
}

/**
 * The chart's rows: drawn once the first day of samples arrives, and again once the newest
 * figure (a minute sample or a live one) is CHART_REFRESH_MS past the newest drawn.
 */
function useChartRows(day: FleetDay | undefined, samples: readonly FleetSample[]): Charted | null {
  const [charted, setCharted] = useState<Charted | null>(null);
  if (!charted || charted.day !== day || charted.samples !== samples) {
    const newest = Math.max(day?.rows.at(-1)?.t ?? -Infinity, samples.at(-1)?.atMs ?? -Infinity);
    const rows = charted?.rows ?? [];
    const drawnNewest = rows.length ? rows[rows.length - 1]!.t : -Infinity;
    const due =
      !charted ||
      rows.length < 2 ||
      (day !== undefined && charted.day === undefined) ||
      (day?.regionIds.length ?? 0) !== (charted.day?.regionIds.length ?? 0) ||
      newest < drawnNewest ||
      newest - drawnNewest >= CHART_REFRESH_MS;
    // Adjusting state while rendering: React re-renders at once, before anything is drawn. When
    // nothing is due, the inputs are remembered so that this check runs once per new input.
    setCharted(
      due
        ? {
            rows: downsample(chartRows(day?.rows ?? [], samples), MAX_CHART_POINTS),
            sampled: day?.rows.length ?? 0,
            day,
            samples,
          }
        : { ...charted, day, samples },
    );
  }
  return charted;
}

/**
 * The server's minute samples of the last 24 hours: all of them once, then every minute only the
 * hours since the last one (not the whole day again: 1,440 minutes × regions is a megabyte of
 * JSON to parse and compare), merged into the day the page already holds.
 */
function useFleetDay() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const queryKey = useMemo(() => [...trpc.operator.fleet.series.queryKey(), "day"], [trpc]);
  return useQuery({
    queryKey,
    queryFn: async (): Promise<FleetDay> => {
      const day = queryClient.getQueryData<FleetDay>(queryKey);
      const nowMs = Date.now();
      const { points } = await client.operator.fleet.series.query(seriesRequest(day, nowMs));
      return mergeDay(day, points, nowMs);
    },
    refetchInterval: SERIES_REFRESH_MS,
    staleTime: SERIES_REFRESH_MS,
    // The merged day is new each time: comparing it deeply with the last would find nothing.
    structuralSharing: false,
  });
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
  const series = useFleetDay();

  const chart = useChartRows(series.data, samples);
  const sampled = series.data?.rows.length ?? 0;
  // The regions as one string, so a new sample with the same regions keeps the same list.
  const regionKey = [
    ...new Set([
      ...(series.data?.regionIds ?? []),
      ...(latest?.byRegion ?? []).map((r) => r.regionId),
    ]),
  ]
    .sort()
    .join("\n");
  const regionIds = useMemo(() => (regionKey ? regionKey.split("\n") : []), [regionKey]);
  const regionNames = useMemo(
    () => new Map((regions.data ?? []).map((r) => [r.id, r.name])),
    [regions.data],
  );
  const regionName = (id: string) => regionNames.get(id) ?? id;

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
          <section className="card" aria-labelledby="refusals-heading">
            <h2 id="refusals-heading">Why the other cars cannot take work</h2>
            <p className="small" style={{ margin: 0 }} data-testid="refusals">
              {latest.refusals.length === 0
                ? latest.cars.total === 0
                  ? "No cars enrolled yet."
                  : "Every enrolled car can take work now."
                : topRefusals(latest.refusals, 4, int)}
            </p>
            <p className="muted small" style={{ margin: "0.25rem 0 0" }}>
              Every enrolled car that is not eligible is counted once, under the first reason the
              scheduler finds (the one it tells the car when it asks for work).
            </p>
          </section>
          <section aria-label="Capacity" className="grid grid-stats">
            <Stat
              label="Available power"
              value={formatPowerKW(latest.availableKW)}
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
              value={latest.eligible > 0 ? pct(latest.busyEligible / latest.eligible) : "—"}
              testId="stat-utilization"
              note={`${int(latest.busyEligible)} of ${int(latest.eligible)} eligible cars at work${latest.busyCars > latest.busyEligible ? `, ${int(latest.busyCars - latest.busyEligible)} more finishing` : ""}; ${int(latest.activeLeases)} leases`}
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
              label="Share of a datacenter"
              value={formatShare(datacenterShare(latest.availableKW))}
              testId="stat-datacenter"
              note={`available power ÷ ${REFERENCE_DATACENTER.powerMW} MW (${REFERENCE_DATACENTER.name})`}
            />
          </section>
          <section className="card" aria-labelledby="chart-kw">
            <h2 id="chart-kw">Available power over the last 24 hours, by region</h2>
            <p className="muted small" style={{ marginTop: 0 }} data-testid="reference-note">
              {referenceNote(latest.availableKW)}
            </p>
            {series.error && !series.data ? (
              <ErrorState error={series.error} retry={() => void series.refetch()} />
            ) : !series.data ? (
              <Loading label="Loading the last 24 hours…" />
            ) : (
              <>
                <p className="small" style={{ marginTop: 0 }} data-testid="series-note">
                  {sampled === 0
                    ? "No minute samples yet: the server records the first within a minute of starting. Meanwhile the chart shows the live feed of the last few minutes."
                    : `${int(sampled)} minute ${sampled === 1 ? "sample" : "samples"} from the server, then the live feed.`}
                </p>
                {!chart || chart.rows.length < 2 ? (
                  <Empty>Collecting samples…</Empty>
                ) : (
                  <FleetChart
                    rows={chart.rows}
                    sampled={chart.sampled}
                    regionIds={regionIds}
                    regionNames={regionNames}
                  />
                )}
              </>
            )}
          </section>
          <section className="card" aria-labelledby="regions-now">
            <h2 id="regions-now">Regions now</h2>
            {latest.byRegion.length === 0 ? (
              <Empty>No regions.</Empty>
            ) : (
              <TableScroll label="Regions now">
                <table className="table" data-testid="regions-now">
                  <thead>
                    <tr>
                      <th>Region</th>
                      <th className="num">Online</th>
                      <th className="num">Eligible</th>
                      <th className="num">Available power</th>
                      <th className="num">Compute</th>
                      <th className="num">Leases</th>
                      <th className="num">Utilization</th>
                    </tr>
                  </thead>
                  <tbody>
                    {latest.byRegion.map((r) => (
                      <tr key={r.regionId}>
                        <td>{regionName(r.regionId)}</td>
                        <td className="num">{int(r.online)}</td>
                        <td className="num">{int(r.eligible)}</td>
                        <td className="num">{formatPowerKW(r.availableKW)}</td>
                        <td className="num">{tops(r.availableTops)}</td>
                        <td className="num">{int(r.activeLeases)}</td>
                        <td className="num">
                          {r.eligible > 0 ? pct(Math.min(1, r.busyCars / r.eligible)) : "—"}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableScroll>
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
                <RegionEnergyChart regions={regions.data} summary={byRegion.data} />
              </>
            )}
          </section>
        </div>
      )}
    </>
  );
}

const tooltipEnergy = (v: unknown) => formatEnergyKWh(Number(v));

const RegionEnergyChart = memo(function RegionEnergyChart({
  regions,
  summary,
}: {
  regions: RegionList;
  summary: LedgerSummary;
}) {
  const data = useMemo(
    () =>
      regions.map((r) => ({
        region: r.drained ? `${r.name} (drained)` : r.name,
        energyKWh: summary.rows.find((x) => x.key === r.id)?.energyKWh ?? 0,
      })),
    [regions, summary],
  );
  const axis = valueAxis(maxOf(data, ["energyKWh"]), energyAxis);
  return (
    <div
      className="chart"
      role="img"
      aria-label="Energy by region over the last 24 hours"
      data-testid="region-energy-chart"
    >
      <ResponsiveContainer>
        <BarChart data={data} margin={{ left: 8, right: 16, top: 8 }}>
          <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
          <XAxis dataKey="region" stroke="var(--muted)" />
          <YAxis
            stroke="var(--muted)"
            width={axis.widthPx}
            ticks={axis.ticks}
            domain={axis.domain}
            interval={0}
            tickFormatter={axis.label}
          />
          <Tooltip
            formatter={tooltipEnergy}
            contentStyle={{
              background: "var(--panel)",
              border: "1px solid var(--border)",
            }}
          />
          <Bar name="Energy" dataKey="energyKWh" fill="var(--chart-3)" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
});
