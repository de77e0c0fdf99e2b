import type { Metadata } from "next";
import { EnergyView } from "./energy-view";
import { TariffEditor } from "./tariff-editor";

export const metadata: Metadata = { title: "Energy & money" };

export default function EnergyPage() {
  return (
    <>
      <EnergyView />
      <TariffEditor />
    </>
  );
}
