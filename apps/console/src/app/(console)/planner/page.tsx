import type { Metadata } from "next";
import { PlannerView } from "./planner-view";

export const metadata: Metadata = { title: "Capacity planner" };

export default function PlannerPage() {
  return <PlannerView />;
}
