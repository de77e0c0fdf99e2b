"use client";
// One live stream of fleet figures for the whole console (operator.fleet.watch over SSE). Its
// last few minutes of samples carry the Fleet page's chart from the server's newest minute sample
// to now, and every page can show that the feed is live.
import { useSubscription } from "@trpc/tanstack-react-query";
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import { appendSample, type FleetSample } from "~/lib/live-samples";
import { type RouterOutputs, useTRPC } from "~/lib/trpc";

export type FleetSummary = RouterOutputs["operator"]["fleet"]["summary"];

const INTERVAL_MS = 2000;

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
