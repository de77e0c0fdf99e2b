import type { Metadata } from "next";
import { CarsView } from "./cars-view";

export const metadata: Metadata = { title: "Cars" };

export default function CarsPage() {
  return <CarsView />;
}
