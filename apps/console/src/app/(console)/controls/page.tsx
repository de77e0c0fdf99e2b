import type { Metadata } from "next";
import { AuditLog } from "./audit-log";
import { ControlsView } from "./controls-view";

export const metadata: Metadata = { title: "Controls & audit" };

export default function ControlsPage() {
  return (
    <>
      <ControlsView />
      <AuditLog />
    </>
  );
}
