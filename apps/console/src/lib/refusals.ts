// Why a car may take no work, in plain words: the server's reasons (carRefusal in the API: the
// lease call's own) as the Fleet page counts them and a car's page states one. A Record over the
// API's list, so a reason added there fails the typecheck here until it has words.
import type { RouterOutputs } from "~/lib/trpc";

export type Refusal = RouterOutputs["operator"]["fleet"]["summary"]["refusals"][number]["reason"];
type Counted = RouterOutputs["operator"]["fleet"]["summary"]["refusals"];

export const REFUSAL_WORDS: Record<Refusal, { counted: string; sentence: string }> = {
  "no-heartbeat": { counted: "offline", sentence: "it has not reported in recently (offline)" },
  "battery-hot": { counted: "battery too hot", sentence: "its battery is too hot (above 40 °C)" },
  "region-drained": {
    counted: "in a drained region",
    sentence: "its region is drained by an operator",
  },
  driving: { counted: "driving", sentence: "it is driving" },
  quarantined: { counted: "quarantined", sentence: "it is quarantined" },
  "opted-out": { counted: "opted out by the owner", sentence: "its owner has opted out" },
  "outside-allowed-hours": {
    counted: "outside the owner's hours",
    sentence: "it is outside the hours its owner allows",
  },
  "departs-too-soon": {
    counted: "leaving soon",
    sentence: "it is predicted to leave before a run would finish",
  },
  "low-energy": {
    counted: "too close to the owner's reserve",
    sentence: "its charge is too close to the owner's reserve for a run",
  },
  "hardware-too-small": {
    counted: "hardware too small",
    sentence: "its computer is too small for the models",
  },
  "replica-conflict": {
    counted: "already runs a replica",
    sentence: "it already runs a replica of the work",
  },
  deferred: {
    counted: "waiting for cheaper or cleaner power",
    sentence: "its work waits for a cheaper or cleaner window before the car leaves",
  },
};

/**
 * The most common reasons, counted, for one line: "31 driving · 8 leaving soon · 4 too close to
 * the owner's reserve", then how many cars the rest hold. `counts` comes most cars first.
 */
export function topRefusals(counts: Counted, top = 4, format = (n: number) => String(n)): string {
  // One reason more is shown rather than summed up as "other reasons".
  const named = counts.length <= top + 1 ? counts : counts.slice(0, top);
  const shown = named.map((r) => `${format(r.cars)} ${REFUSAL_WORDS[r.reason].counted}`);
  const rest = counts.slice(named.length).reduce((n, r) => n + r.cars, 0);
  if (rest > 0) shown.push(`${format(rest)} for other reasons`);
  return shown.join(" · ");
}
