"use client";
// Energy, cost, carbon and owner payouts from the ledger: over time (one ledger summary per hour
// or day, all sent in one batched request), by region and by tenant, and what deferring saved.
import { useQueries, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import {
  carbonAxis,
  energyAxis,
  formatCarbonG,
  formatEnergyKWh,
  formatUsd,
  usdAxis,
} from "@nightshift/units/format";
import { Empty, ErrorState, Loading, PageHeader, Stat, TableScroll } from "~/components/ui";
import { maxOf, valueAxis } from "~/lib/chart-axis";
import { int } from "~/lib/format";
import { useTRPC } from "~/lib/trpc";
import { DeferralSavings } from "./deferral-savings";

const RANGES = {
  day: { label: "Last 24 hours", buckets: 24, stepMs: 3600_000 },
  week: { label: "Last 7 days", buckets: 7, stepMs: 24 * 3600_000 },
} as const;
type Range = keyof typeof RANGES;
/**
 * Room around the plot: the x axis's last label is centred on the plot's right end and needs
 * half its width (a clock label is about 36 px) beside it.
 */
const CHART_MARGIN = { left: 8, right: 24, top: 8 };

const COLORS = [
  "var(--chart-1)",
  "var(--chart-2)",
  "var(--chart-3)",
  "var(--chart-4)",
  "var(--chart-5)",
];
const tooltipStyle = { background: "var(--panel)", border: "1px solid var(--border)" };

/** A tooltip's figure by its series: money, carbon (grams) or energy (kWh). */
function tooltipFigure(value: unknown, _name: unknown, item: { dataKey?: unknown }): string {
  const v = Number(value);
  if (item.dataKey === "costUsd" || item.dataKey === "payoutUsd") return formatUsd(v);
  if (item.dataKey === "carbonG") return formatCarbonG(v);
  return formatEnergyKWh(v);
}

export function EnergyView() {
  const trpc = useTRPC();
  const [range, setRange] = useState<Range>("day");
  const { buckets, stepMs } = RANGES[range];
  // Bucket edges on whole steps, fixed while the range is shown, so query keys stay stable.
  const edges = useMemo(() => {
    const end = Math.ceil(Date.now() / stepMs) * stepMs;
    return Array.from({ length: buckets + 1 }, (_, i) => end - (buckets - i) * stepMs);
  }, [buckets, stepMs]);
  const from = new Date(edges[0]!).toISOString();
  const regions = useQuery(trpc.operator.regions.list.queryOptions());
  const series = useQueries({
    queries: edges.slice(0, -1).map((start, i) =>
      trpc.operator.ledger.summary.queryOptions({
        by: "region",
        from: new Date(start).toISOString(),
        to: new Date(edges[i + 1]!).toISOString(),
      }),
    ),
  });
  const byTenant = useQuery(trpc.operator.ledger.summary.queryOptions({ by: "tenant", from }));
  const byRegion = useQuery(trpc.operator.ledger.summary.queryOptions({ by: "region", from }));
  const byOwner = useQuery(trpc.operator.ledger.summary.queryOptions({ by: "owner", from }));

  const regionIds = regions.data?.map((r) => r.id) ?? [];
  const loading = series.some((q) => !q.data) || !regions.data;
  const failed = series.find((q) => q.error)?.error ?? regions.error;
  const timeLabel = (ms: number) =>
    range === "day"
      ? new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })
      : new Date(ms).toLocaleDateString("en-GB", { day: "2-digit", month: "short" });
  const points = loading
    ? []
    : series.map((q, i) => {
        const p: Record<string, number | string> = {
          label: timeLabel(edges[i]!),
          costUsd: q.data!.total.costUsd,
          payoutUsd: q.data!.total.payoutUsd + q.data!.total.payoutOwedUsd,
          carbonG: q.data!.total.carbonG,
        };
        for (const id of regionIds) p[id] = q.data!.rows.find((r) => r.key === id)?.energyKWh ?? 0;
        return p;
      });
  const total = byRegion.data?.total;
  // Each axis in the unit of its largest tick, as wide as its widest label.
  const energyTicks = valueAxis(maxOf(points, regionIds, true), energyAxis);
  const usdTicks = valueAxis(maxOf(points, ["costUsd", "payoutUsd"]), usdAxis);
  const carbonTicks = valueAxis(maxOf(points, ["carbonG"]), carbonAxis);

  return (
    <>
      <PageHeader
        title="Energy & money"
        description="From the ledger: every task's energy, its price and carbon at that hour, and what its car's owner is paid."
        actions={
          <label className="field">
            <span>Period</span>
            <select value={range} onChange={(e) => setRange(e.target.value as Range)}>
              {Object.entries(RANGES).map(([k, r]) => (
                <option key={k} value={k}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
        }
      />
      <div className="stack">
        <section className="grid grid-stats" aria-label="Totals">
          {!total ? (
            <div className="card">
              <Loading rows={2} />
            </div>
          ) : (
            <>
              <Stat
                label="Energy"
                value={formatEnergyKWh(total.energyKWh)}
                testId="energy-total"
                note={`${formatEnergyKWh(total.gridEnergyKWh)} from the grid, ${formatEnergyKWh(total.batteryEnergyKWh)} from batteries`}
              />
              <Stat
                label="Energy cost"
                value={formatUsd(total.costUsd)}
                testId="energy-cost"
                note={
                  total.energyKWh > 0
                    ? `${formatUsd(total.costUsd / total.energyKWh)} per kWh`
                    : undefined
                }
              />
              <Stat label="Carbon" value={formatCarbonG(total.carbonG)} testId="energy-carbon" />
              <Stat
                label="Owners paid"
                value={formatUsd(total.payoutUsd)}
                note={`${formatUsd(total.payoutOwedUsd)} owed`}
              />
              <Stat
                label="Ledger entries"
                value={int(total.entries)}
                note={`${int(total.validated)} validated`}
              />
            </>
          )}
        </section>
        {failed ? (
          <ErrorState error={failed} />
        ) : loading ? (
          <div className="card">
            <Loading label="Summing the ledger…" rows={4} />
          </div>
        ) : (
          <div className="grid grid-2">
            <section className="card" aria-labelledby="energy-time">
              <h2 id="energy-time">Energy by region</h2>
              <div
                className="chart"
                role="img"
                aria-label="Energy per period, stacked by region"
                data-testid="energy-chart"
              >
                <ResponsiveContainer>
                  <BarChart data={points} margin={CHART_MARGIN}>
                    <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
                    <XAxis dataKey="label" stroke="var(--muted)" minTickGap={16} />
                    <YAxis
                      stroke="var(--muted)"
                      width={energyTicks.widthPx}
                      ticks={energyTicks.ticks}
                      domain={energyTicks.domain}
                      interval={0}
                      tickFormatter={energyTicks.label}
                    />
                    <Tooltip formatter={tooltipFigure} contentStyle={tooltipStyle} />
                    <Legend />
                    {regions.data!.map((r, i) => (
                      <Bar
                        key={r.id}
                        name={r.name}
                        dataKey={r.id}
                        stackId="e"
                        fill={COLORS[i % COLORS.length]}
                        isAnimationActive={false}
                      />
                    ))}
                  </BarChart>
                </ResponsiveContainer>
              </div>
            </section>
            <section className="card" aria-labelledby="money-time">
              <h2 id="money-time">Cost, owner pay and carbon</h2>
              <div
                className="chart"
                role="img"
                aria-label="Energy cost, owner payouts and carbon per period"
                data-testid="money-chart"
              >
                <ResponsiveContainer>
                  <LineChart data={points} margin={CHART_MARGIN}>
                    <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
                    <XAxis dataKey="label" stroke="var(--muted)" minTickGap={16} />
                    <YAxis
                      yAxisId="usd"
                      stroke="var(--muted)"
                      width={usdTicks.widthPx}
                      ticks={usdTicks.ticks}
                      domain={usdTicks.domain}
                      interval={0}
                      tickFormatter={usdTicks.label}
                    />
                    <YAxis
                      yAxisId="carbon"
                      orientation="right"
                      stroke="var(--muted)"
                      width={carbonTicks.widthPx}
                      ticks={carbonTicks.ticks}
                      domain={carbonTicks.domain}
                      interval={0}
                      tickFormatter={carbonTicks.label}
                    />
                    <Tooltip contentStyle={tooltipStyle} formatter={tooltipFigure} />
                    <Legend />
                    <Line
                      yAxisId="usd"
                      name="Energy cost"
                      dataKey="costUsd"
                      stroke="var(--chart-2)"
                      dot={false}
                      isAnimationActive={false}
                    />
                    <Line
                      yAxisId="usd"
                      name="Owner pay"
                      dataKey="payoutUsd"
                      stroke="var(--chart-3)"
                      dot={false}
                      isAnimationActive={false}
                    />
                    <Line
                      yAxisId="carbon"
                      name="Carbon"
                      dataKey="carbonG"
                      stroke="var(--chart-4)"
                      strokeDasharray="4 3"
                      dot={false}
                      isAnimationActive={false}
                    />
                  </LineChart>
                </ResponsiveContainer>
              </div>
            </section>
          </div>
        )}
        <DeferralSavings query={byTenant} />
        <div className="grid grid-2">
          <SummaryTable
            title="By region"
            query={byRegion}
            nameOf={(k) => regions.data?.find((r) => r.id === k)?.name ?? k}
          />
          <SummaryTable title="By tenant" query={byTenant} nameOf={(k) => k} />
        </div>
        <SummaryTable
          title="Owners, most paid first (top 10)"
          query={byOwner}
          nameOf={(k) => k.slice(0, 8)}
          top={10}
        />
      </div>
    </>
  );
}

type Summary = {
  rows: {
    key: string;
    energyKWh: number;
    costUsd: number;
    carbonG: number;
    payoutUsd: number;
    payoutOwedUsd: number;
    validated: number;
    entries: number;
  }[];
};

function SummaryTable({
  title,
  query,
  nameOf,
  top,
}: {
  title: string;
  query: { data: Summary | undefined; error: unknown };
  nameOf: (key: string) => string;
  top?: number;
}) {
  const rows = query.data
    ? top
      ? [...query.data.rows]
          .sort((a, b) => b.payoutUsd + b.payoutOwedUsd - (a.payoutUsd + a.payoutOwedUsd))
          .slice(0, top)
      : query.data.rows
    : [];
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {query.error ? (
        <ErrorState error={query.error} />
      ) : !query.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <Empty>No ledger entries in this period.</Empty>
      ) : (
        <TableScroll label={title}>
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Energy</th>
                <th className="num">Cost</th>
                <th className="num">Carbon</th>
                <th className="num">Paid + owed</th>
                <th className="num">Validated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <td>{nameOf(r.key)}</td>
                  <td className="num">{formatEnergyKWh(r.energyKWh)}</td>
                  <td className="num">{formatUsd(r.costUsd)}</td>
                  <td className="num">{formatCarbonG(r.carbonG)}</td>
                  <td className="num">{formatUsd(r.payoutUsd + r.payoutOwedUsd)}</td>
                  <td className="num">
                    {int(r.validated)}/{int(r.entries)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
