// kill -9 of a server instance and a PostgreSQL crash mid-load: every acknowledged submit kept,
// every job finished, nothing counted twice.
import { expect, it } from "vitest";
import { crashes, CRASHES_CI } from "../src/crashes";
import { runAndReport } from "./figures";

it("a server killed and PostgreSQL crashed mid-load lose no acknowledged submit", async () => {
  const f = await runAndReport("crashes", () => crashes(CRASHES_CI));
  expect(f.acknowledgedLost).toBe(0);
  expect(f.finished).toBe(1);
  expect(f.jobsFinished).toBe(2);
  expect(f.tasksLost).toBe(0);
  expect(f.doubleCounted).toBe(0);
  // A lease call whose answer was lost is retried with its requestId and gets its leases.
  expect(f.leasesNoCarSaw).toBe(0);
  expect(f.acknowledged).toBe(f.replicas);
  expect(f.instancesReady).toBe(2);
  // A database away is answered 503 (retry), never 500.
  expect(f.serverErrorsSeen).toBe(0);
  expect(f.unavailableSeen).toBeGreaterThan(0);
  // The faults happened under load: some calls failed over, some met the database away.
  expect(f.failovers).toBeGreaterThan(0);
  expect(f.killedAtAcked).toBeLessThan(f.replicas!);
  expect(f.databaseAtAcked).toBeLessThan(f.replicas!);
});
