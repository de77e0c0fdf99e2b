// A job's objective in plain words: what its work is scheduled for (core's deferral). A Record
// over the API's list, so an objective added there fails the typecheck here until it has words.
import type { RouterOutputs } from "~/lib/trpc";

export type Objective = RouterOutputs["operator"]["jobs"]["get"]["objective"];

export const OBJECTIVE_NOTES: Record<Objective, string> = {
  soonest: "runs on any car that can take it now",
  cheapest: "a car on dear power waits for a cheaper window if it has time",
  cleanest: "a car on dirty power waits for a cleaner window if it has time",
};
