"use client";
// Every car, filtered and sorted by the server and fetched a page at a time as the operator
// scrolls (keyset paging: as fast on page 500 as on page 1); only the rows in view are rendered,
// so 100,000 loaded cars cost no more to draw than 30, and only they are kept live: fetched again
// by id every few seconds. A row keeps its place (the order is the one it was loaded in).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useEffect, useMemo, useRef, useState } from "react";
import { formatPowerKW } from "@nightshift/units/format";
import { useFleetFeed } from "~/components/fleet-feed";
import { Badge, Empty, ErrorState, Loading, PageHeader } from "~/components/ui";
import { ago, int } from "~/lib/format";
import { usePages } from "~/lib/pages";
import { type RouterInputs, type RouterOutputs, useTRPC, useTRPCClient } from "~/lib/trpc";

type ListInput = RouterInputs["operator"]["cars"]["list"];
type Car = RouterOutputs["operator"]["cars"]["list"]["items"][number];
type Sort = NonNullable<ListInput["sort"]>;

const PAGE = 200;
const ROW_PX = 38;
/** The rows in view are fetched again this often. */
const LIVE_MS = 5_000;
/**
 * The live rows are the rows in view widened to multiples of this: scrolling asks for a new set
 * once per this many rows, not once per row.
 */
const LIVE_BLOCK = 40;
/** The most rows one `cars.rows` call takes (the API's limit). */
const LIVE_MAX = 200;
const COLUMNS = "minmax(150px,1.4fr) 110px 110px 100px 70px 80px 110px 70px minmax(110px,1fr)";

const SORTABLE: { key: Sort; label: string }[] = [
  { key: "name", label: "Name" },
  { key: "socPct", label: "Charge" },
  { key: "lastHeartbeatAt", label: "Last heard" },
  { key: "enrolledAt", label: "Enrolled" },
];

function stateBadge(car: Car) {
  if (car.quarantined) return <Badge tone="danger">quarantined</Badge>;
  if (!car.online) return <Badge tone="muted">offline</Badge>;
  return <Badge tone={car.state === "driving" ? "warn" : "ok"}>{car.state}</Badge>;
}

/** The live count, in its own component: feed ticks re-render it, not the table. */
function CarsCount() {
  const { latest } = useFleetFeed();
  return latest
    ? `${int(latest.cars.total)} enrolled, ${int(latest.cars.online)} online`
    : "Every enrolled car";
}

export function CarsView() {
  const trpc = useTRPC();
  const [regionId, setRegionId] = useState("");
  const [state, setState] = useState<"" | "driving" | "parked" | "charging">("");
  const [quarantined, setQuarantined] = useState<"" | "yes" | "no">("");
  const [sort, setSort] = useState<Sort>("enrolledAt");
  const [order, setOrder] = useState<"asc" | "desc">("desc");
  const regions = useQuery(trpc.operator.regions.list.queryOptions());

  const input = useMemo(
    () => ({
      sort,
      order,
      limit: PAGE,
      ...(regionId ? { regionId } : {}),
      ...(state ? { state } : {}),
      ...(quarantined ? { quarantined: quarantined === "yes" } : {}),
    }),
    [sort, order, regionId, state, quarantined],
  );
  const client = useTRPCClient();
  const cars = usePages({
    pathKey: trpc.operator.cars.list.pathKey(),
    input,
    fetchPage: (i, cursor: string | undefined) => client.operator.cars.list.query({ ...i, cursor }),
  });
  const rows = useMemo(() => cars.data?.pages.flatMap((p) => p.items) ?? [], [cars.data]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 12,
  });
  const items = virtual.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? 0;
  const liveFrom = Math.floor((items[0]?.index ?? 0) / LIVE_BLOCK) * LIVE_BLOCK;
  const liveTo = Math.min(
    Math.ceil((lastIndex + 1) / LIVE_BLOCK) * LIVE_BLOCK,
    liveFrom + LIVE_MAX,
  );
  const liveIds = useMemo(
    () => rows.slice(liveFrom, liveTo).map((car) => car.id),
    [rows, liveFrom, liveTo],
  );
  const live = useQuery({
    ...trpc.operator.cars.rows.queryOptions({ carIds: liveIds }),
    enabled: liveIds.length > 0,
    refetchInterval: LIVE_MS,
    // While the next window loads, the last one's rows still apply where they overlap.
    placeholderData: keepPreviousData,
    gcTime: LIVE_MS,
  });
  const fresh = useMemo(
    () => new Map((live.data?.items ?? []).map((car) => [car.id, car])),
    [live.data],
  );
  // Near the end of what is loaded: fetch the next page.
  useEffect(() => {
    if (lastIndex >= rows.length - 40 && cars.hasNextPage && !cars.isFetchingNextPage)
      void cars.fetchNextPage();
  }, [lastIndex, rows.length, cars]);

  const now = Date.now();
  const headerSort = (key: Sort) => {
    if (sort === key) setOrder(order === "asc" ? "desc" : "asc");
    else {
      setSort(key);
      setOrder(key === "name" ? "asc" : "desc");
    }
  };
  const sortMark = (key: Sort) => (sort === key ? (order === "asc" ? " ↑" : " ↓") : "");
  const ariaSort = (key: Sort) =>
    sort === key ? (order === "asc" ? "ascending" : "descending") : "none";

  return (
    <>
      <PageHeader title="Cars" description={<CarsCount />} />
      <div className="card stack">
        <div className="row" role="group" aria-label="Filters">
          <label className="field">
            <span>Region</span>
            <select value={regionId} onChange={(e) => setRegionId(e.target.value)}>
              <option value="">All regions</option>
              {regions.data?.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>State</span>
            <select value={state} onChange={(e) => setState(e.target.value as typeof state)}>
              <option value="">Any state</option>
              <option value="parked">Parked</option>
              <option value="charging">Charging</option>
              <option value="driving">Driving</option>
            </select>
          </label>
          <label className="field">
            <span>Quarantine</span>
            <select
              value={quarantined}
              onChange={(e) => setQuarantined(e.target.value as typeof quarantined)}
            >
              <option value="">Any</option>
              <option value="yes">Quarantined</option>
              <option value="no">Not quarantined</option>
            </select>
          </label>
          <span className="muted small" style={{ marginLeft: "auto" }} aria-live="polite">
            {cars.data
              ? `${int(rows.length)} loaded${cars.hasNextPage ? ", more as you scroll" : ""}`
              : ""}
          </span>
        </div>
        {cars.error ? (
          <ErrorState error={cars.error} retry={() => void cars.refetch()} />
        ) : !cars.data ? (
          <Loading label="Loading cars…" rows={6} />
        ) : rows.length === 0 ? (
          <Empty>
            No cars match. Cars appear here when they enroll (a vehicle page or an agent).
          </Empty>
        ) : (
          <div
            ref={scroller}
            className="table-wrap"
            // As tall as the rows need, up to most of the window.
            style={{
              height: `min(${(rows.length + 1) * ROW_PX + 2}px, max(300px, calc(100vh - 260px)))`,
            }}
            role="table"
            aria-label="Cars"
            tabIndex={0}
            aria-rowcount={rows.length + 1}
            data-testid="cars-table"
          >
            <div style={{ minWidth: 960 }}>
              <div
                className="vrow vhead"
                role="row"
                style={{ gridTemplateColumns: COLUMNS, height: ROW_PX }}
              >
                {[
                  { label: "Name", sort: "name" as const },
                  { label: "Region" },
                  { label: "Hardware" },
                  { label: "State" },
                  { label: "Charge", sort: "socPct" as const },
                  { label: "Plugged" },
                  { label: "Valid / invalid" },
                  { label: "Leases" },
                  { label: "Last heard", sort: "lastHeartbeatAt" as const },
                ].map((c) =>
                  c.sort ? (
                    <div role="columnheader" key={c.label} aria-sort={ariaSort(c.sort)}>
                      <button
                        type="button"
                        onClick={() => headerSort(c.sort)}
                        style={{
                          border: 0,
                          padding: 0,
                          background: "none",
                          color: "inherit",
                          font: "inherit",
                        }}
                      >
                        {c.label}
                        {sortMark(c.sort)}
                      </button>
                    </div>
                  ) : (
                    <div role="columnheader" key={c.label}>
                      {c.label}
                    </div>
                  ),
                )}
              </div>
              <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
                {items.map((v) => {
                  const loaded = rows[v.index]!;
                  const car = fresh.get(loaded.id) ?? loaded;
                  return (
                    <div
                      key={car.id}
                      role="row"
                      aria-rowindex={v.index + 2}
                      className="vrow"
                      style={{
                        gridTemplateColumns: COLUMNS,
                        height: ROW_PX,
                        position: "absolute",
                        top: 0,
                        left: 0,
                        right: 0,
                        transform: `translateY(${v.start}px)`,
                      }}
                    >
                      <div role="cell">
                        <Link href={`/cars/${car.id}`}>{car.name}</Link>
                      </div>
                      <div role="cell">{car.regionId}</div>
                      <div role="cell">{car.hardwareId}</div>
                      <div role="cell">{stateBadge(car)}</div>
                      <div role="cell" className="num">
                        {Math.round(car.socPct)}%
                      </div>
                      <div role="cell">{car.pluggedIn ? formatPowerKW(car.chargerKW) : "no"}</div>
                      <div role="cell">
                        {int(car.validResults)} / {int(car.invalidResults)}
                      </div>
                      <div role="cell" className="num">
                        {car.activeLeases}
                      </div>
                      <div role="cell">{ago(car.lastHeartbeatAt, now)}</div>
                    </div>
                  );
                })}
              </div>
            </div>
          </div>
        )}
        <div className="row small muted">
          <span>Sort:</span>
          {SORTABLE.map((s) => (
            <button
              key={s.key}
              type="button"
              aria-pressed={sort === s.key}
              onClick={() => headerSort(s.key)}
            >
              {s.label}
              {sortMark(s.key)}
            </button>
          ))}
        </div>
      </div>
    </>
  );
}
