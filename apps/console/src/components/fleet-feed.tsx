"use client";
// One live stream of fleet figures for the whole console (operator.fleet.watch over SSE). Its
// samples are kept for the last 24 hours while the console is open, thinned as they age, so the
// Fleet page can chart them and every page can show that the feed is live.
import { useSubscription } from "@trpc/tanstack-react-query";
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import { type RouterOutputs, useTRPC } from "~/lib/trpc";

export type FleetSummary = RouterOutputs["operator"]["fleet"]["summary"];
export interface FleetSample {
  atMs: number;
  availableKW: number;
  availableTops: number;
  eligible: number;
  online: number;
  total: number;
  queueDepth: number;
  activeLeases: number;
  /** Available kW region by region. */
  regionKW: Record<string, number>;
}

const DAY_MS = 24 * 3600_000;
const MAX_SAMPLES = 1500;
const INTERVAL_MS = 2000;

/**
 * Keeps the samples of the last day; past MAX_SAMPLES, every other sample of the older half goes,
 * so the buffer stays bounded and thins as samples age. One new array per sample (React state
 * must not be mutated), built in one pass.
 */
export function appendSample(samples: readonly FleetSample[], next: FleetSample): FleetSample[] {
  let first = 0;
  while (first < samples.length && next.atMs - samples[first]!.atMs > DAY_MS) first++;
  const kept = samples.length - first + 1;
  if (kept <= MAX_SAMPLES) {
    const recent = samples.slice(first);
    recent.push(next);
    return recent;
  }
  const half = Math.floor(kept / 2);
  const thinned: FleetSample[] = [];
  for (let i = 0; i < half; i += 2) thinned.push(samples[first + i]!);
  for (let i = half; i < kept - 1; i++) thinned.push(samples[first + i]!);
  thinned.push(next);
  return thinned;
}

function regionKW(byRegion: FleetSummary["byRegion"]): Record<string, number> {
  const kw: Record<string, number> = {};
  for (const r of byRegion) kw[r.regionId] = r.availableKW;
  return kw;
}

interface Feed {
  latest: FleetSummary | undefined;
  samples: FleetSample[];
  status: "idle" | "connecting" | "pending" | "error";
  error: string | null;
}

const FeedContext = createContext<Feed>({
  latest: undefined,
  samples: [],
  status: "idle",
  error: null,
});

export function FleetFeedProvider({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const [samples, setSamples] = useState<FleetSample[]>([]);
  const sub = useSubscription(
    trpc.operator.fleet.watch.subscriptionOptions(
      { intervalMs: INTERVAL_MS },
      {
        onData: (s) =>
          setSamples((prev) =>
            appendSample(prev, {
              atMs: Date.parse(s.at),
              availableKW: s.availableKW,
              availableTops: s.availableTops,
              eligible: s.eligible,
              online: s.cars.online,
              total: s.cars.total,
              queueDepth: s.queueDepth,
              activeLeases: s.activeLeases,
              regionKW: regionKW(s.byRegion),
            }),
          ),
      },
    ),
  );
  const value = useMemo<Feed>(
    () => ({ latest: sub.data, samples, status: sub.status, error: sub.error?.message ?? null }),
    [sub.data, samples, sub.status, sub.error],
  );
  return <FeedContext.Provider value={value}>{children}</FeedContext.Provider>;
}

export function useFleetFeed(): Feed {
  return useContext(FeedContext);
}

export function LiveIndicator() {
  const { status, error } = useFleetFeed();
  const [shown, setShown] = useState(false);
  // Rendered after hydration only: the stream does not exist on the server.
  useEffect(() => setShown(true), []);
  if (!shown) return null;
  const live = status === "pending";
  return (
    <span className="row small muted" title={error ?? undefined} style={{ gap: "0.4rem" }}>
      <span className={`live-dot${live ? "" : " off"}`} aria-hidden="true" />
      {live ? "Live" : status === "error" ? "Feed lost, retrying" : "Connecting…"}
    </span>
  );
}
