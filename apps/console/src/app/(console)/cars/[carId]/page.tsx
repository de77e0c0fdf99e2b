import type { Metadata } from "next";
import { CarView } from "./car-view";

export const metadata: Metadata = { title: "Car" };

export default async function CarPage({ params }: { params: Promise<{ carId: string }> }) {
  const { carId } = await params;
  return <CarView carId={carId} />;
}
