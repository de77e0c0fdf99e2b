// Cars departing and arriving at random across two server instances: nothing lost, nothing
// counted twice, and at least 30% of leases broken mid-task (else the test proved little).
import { expect, it } from "vitest";
import { churn, CHURN_CI } from "../src/churn";
import { runAndReport } from "./figures";

it(`${CHURN_CI.cars} cars churning through ${CHURN_CI.tasks} tasks lose nothing and count nothing twice`, async () => {
  const f = await runAndReport("churn", () => churn(CHURN_CI));
  expect(f.finished).toBe(1);
  expect(f.tasksLost).toBe(0);
  expect(f.jobsUnfinished).toBe(0);
  expect(f.doubleCounted).toBe(0);
  expect(f.lateResultsAccepted).toBe(0);
  expect(f.brokenShare).toBeGreaterThanOrEqual(30);
  expect(f.releaseSamples).toBeGreaterThan(0);
});
