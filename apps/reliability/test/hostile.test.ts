// Every procedure fuzzed over HTTP (a hostile value in every string, feed name and cursor of a
// well-formed input, then generated inputs), malformed requests, replayed and revoked
// credentials: no server error, no row changed by a refused request, no revoked credential
// accepted.
import { expect, it } from "vitest";
import { callerOf, hostile, HOSTILE_CI, procedures, worldHint } from "../src/hostile";
import { example, targets } from "../src/hostile-inputs";
import { runAndReport } from "./figures";

it("finds every procedure of the router", () => {
  const list = procedures();
  expect(list.length).toBeGreaterThan(30);
  expect(list.map((p) => p.path)).toContain("node.submitMany");
  // Keys come from the input schemas: generated inputs aim at real fields.
  expect(list.find((p) => p.path === "node.heartbeat")!.keys).toContain("socPct");
});

it("aims hostile values at every string, feed name and cursor of every procedure", () => {
  const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
  const hint = worldHint({
    jobId: id(1),
    leaseId: id(2),
    taskId: id(3),
    carId: id(4),
    ownerId: id(5),
    tenantId: "acme",
    regionId: "us-west",
    operatorEmail: "operator@nightshift.local",
  });
  const aimed = new Set<string>();
  const unbuilt: string[] = [];
  for (const p of procedures()) {
    const base = example(p.schema, p.path, "", hint);
    if (Object.keys(p.schema).length === 0) continue; // takes no input
    if (base === undefined) unbuilt.push(p.path);
    else
      for (const t of targets(base, p.schema, new Set(p.keys))) aimed.add(`${p.path} ${t.field}`);
  }
  // Every procedure's input can be made well-formed, so that a hostile value in it reaches
  // whatever is behind its other checks.
  expect(unbuilt).toEqual([]);
  for (const field of [
    "node.enroll code",
    "node.enroll name",
    "node.enroll ownerName",
    "node.fail message",
    "tenant.jobs.submit modelId",
    "tenant.jobs.submit idempotencyKey",
    "tenant.jobs.submit inputs[0].x",
    "tenant.jobs.list cursor",
    "tenant.jobs.results cursor",
    "operator.cars.list cursor",
    "operator.cars.tasks cursor",
    "operator.cars.history cursor",
    "operator.cars.quarantine reason",
    "operator.tenants.create name",
    "operator.enrollmentCodes.create ownerName",
    "operator.regions.update timeZone",
    "operator.audit.list subjectId",
    "operator.auth.signIn password",
  ])
    expect(aimed).toContain(field);
  // Each goes to the caller that gets past the credential check.
  expect(callerOf("node.enroll")).toBe("anonymous");
  expect(callerOf("node.fail")).toBe("car");
  expect(callerOf("operator.auth.signIn")).toBe("anonymous");
  expect(callerOf("operator.tenants.create")).toBe("operator");
});

it("hostile requests get no 5xx and change no row", async () => {
  const f = await runAndReport("hostile", () => hostile(HOSTILE_CI));
  expect(f.requestsTried).toBeGreaterThan(300);
  // Every field the procedures' inputs have got a well-formed call with a hostile value in it.
  expect(f.fieldsAimedAt).toBeGreaterThan(60);
  expect(f.aimedCalls).toBeGreaterThan(f.fieldsAimedAt! * (2 + HOSTILE_CI.valuesPerField));
  expect(f.aimedAccepted).toBe(0);
  expect(f.serverErrors).toBe(0);
  expect(f.rowsChangedByRefused).toBe(0);
  expect(f.filesServedWrongly).toBe(0);
  expect(f.replayWrites).toBe(0);
  expect(f.revokedAccepted).toBe(0);
  // The other instance stops honouring a revoked credential within its cache time (5 s):
  // counted (calls sent after it and still accepted), not timed; the delay is a figure.
  expect(f.revokedAcceptedPastCache).toBe(0);
});
