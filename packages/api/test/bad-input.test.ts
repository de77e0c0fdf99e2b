// Bad input is refused with the right code, an error that names the field, and no row changed.
import { readFile } from "node:fs/promises";
import { cars } from "@nightshift/db/schema";
import { demoImagePath } from "@nightshift/models/demo-images";
import { zeroPng } from "@nightshift/testkit/png";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MAX_LEASE_PER_CALL } from "../src/services/lease";
import {
  failure,
  type Harness,
  tinyInput,
  PARKED,
  setup,
  type TestCar,
  testDatabase,
} from "./harness";

const database = testDatabase();

const UUID = "00000000-0000-4000-8000-000000000000";

/** A cursor as the lists hand them out (base64url of JSON), holding whatever a caller likes. */
function cursorOf(parts: unknown): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}
beforeAll(database.start);
afterAll(database.stop);

interface Ctx {
  h: Harness;
  car: TestCar;
  jobId: string;
  leaseId: string;
}

/** JSON has no NaN or Infinity: a client's NaN arrives as null, and is refused as such. */
const CASES: { name: string; code: string; field: string; call: (c: Ctx) => Promise<unknown> }[] = [
  {
    name: "heartbeat socPct 101",
    code: "BAD_REQUEST",
    field: "socPct",
    call: ({ car }) => car.client.node.heartbeat.mutate({ ...PARKED, socPct: 101 }),
  },
  {
    name: "heartbeat socPct NaN",
    code: "BAD_REQUEST",
    field: "socPct",
    call: ({ car }) => car.client.node.heartbeat.mutate({ ...PARKED, socPct: NaN }),
  },
  {
    name: "heartbeat chargerKW negative",
    code: "BAD_REQUEST",
    field: "chargerKW",
    call: ({ car }) => car.client.node.heartbeat.mutate({ ...PARKED, chargerKW: -1 }),
  },
  {
    name: "heartbeat chargerKW Infinity",
    code: "BAD_REQUEST",
    field: "chargerKW",
    call: ({ car }) => car.client.node.heartbeat.mutate({ ...PARKED, chargerKW: Infinity }),
  },
  {
    name: "heartbeat unknown state",
    code: "BAD_REQUEST",
    field: "state",
    call: ({ car }) => car.client.node.heartbeat.mutate({ ...PARKED, state: "flying" as "parked" }),
  },
  {
    name: "heartbeat bad departure time",
    code: "BAD_REQUEST",
    field: "predictedDepartureAt",
    call: ({ car }) =>
      car.client.node.heartbeat.mutate({ ...PARKED, predictedDepartureAt: "tomorrow" }),
  },
  {
    name: "heartbeat departure a century ahead",
    code: "BAD_REQUEST",
    field: "predictedDepartureAt",
    call: ({ car }) =>
      car.client.node.heartbeat.mutate({ ...PARKED, predictedDepartureAt: "2126-01-01T00:00:00Z" }),
  },
  {
    name: "lease max 0",
    code: "BAD_REQUEST",
    field: "max",
    call: ({ car }) => car.client.node.lease.mutate({ max: 0 }),
  },
  {
    name: `lease max ${MAX_LEASE_PER_CALL + 1}`,
    code: "BAD_REQUEST",
    field: "max",
    call: ({ car }) => car.client.node.lease.mutate({ max: MAX_LEASE_PER_CALL + 1 }),
  },
  {
    name: "submitMany with no results",
    code: "BAD_REQUEST",
    field: "results",
    call: ({ car }) => car.client.node.submitMany.mutate({ results: [] }),
  },
  {
    name: "submit oversized output",
    code: "BAD_REQUEST",
    field: "output",
    call: ({ car, leaseId }) =>
      car.client.node.submit.mutate({
        leaseId,
        output: new Array(1001).fill(0),
        durationMs: 1,
        backend: "wasm",
      }),
  },
  {
    name: "submit output of the wrong length for the model",
    code: "BAD_REQUEST",
    field: "output",
    call: ({ car, leaseId }) =>
      car.client.node.submit.mutate({ leaseId, output: [1, 2, 3], durationMs: 1, backend: "wasm" }),
  },
  {
    name: "submit NaN in output",
    code: "BAD_REQUEST",
    field: "output[1]",
    call: ({ car, leaseId }) =>
      car.client.node.submit.mutate({
        leaseId,
        output: [1, NaN, 3, 4],
        durationMs: 1,
        backend: "wasm",
      }),
  },
  {
    name: "submit negative duration",
    code: "BAD_REQUEST",
    field: "durationMs",
    call: ({ car, leaseId }) =>
      car.client.node.submit.mutate({
        leaseId,
        output: [1, 2, 3, 4],
        durationMs: -5,
        backend: "wasm",
      }),
  },
  {
    name: "submit unknown lease",
    code: "NOT_FOUND",
    field: "leaseId",
    call: ({ car }) =>
      car.client.node.submit.mutate({
        leaseId: "00000000-0000-4000-8000-000000000000",
        output: [1, 2, 3, 4],
        durationMs: 1,
        backend: "wasm",
      }),
  },
  {
    name: "enroll unknown code",
    code: "NOT_FOUND",
    field: "code",
    call: ({ h }) => h.anonymous.node.enroll.mutate({ code: "NOPE" }),
  },
  {
    name: "enroll unknown region",
    code: "NOT_FOUND",
    field: "regionId",
    call: ({ h }) => h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", regionId: "mars" }),
  },
  {
    name: "enroll battery 0 kWh",
    code: "BAD_REQUEST",
    field: "batteryKWh",
    call: ({ h }) => h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", batteryKWh: 0 }),
  },
  {
    name: "enroll battery 1e-300 kWh",
    code: "BAD_REQUEST",
    field: "batteryKWh",
    call: ({ h }) =>
      h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", batteryKWh: 1e-300 }),
  },
  {
    name: "enroll charge efficiency 1e-300",
    code: "BAD_REQUEST",
    field: "chargeEfficiency",
    call: ({ h }) =>
      h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", chargeEfficiency: 1e-300 }),
  },
  {
    name: "enroll charge efficiency 5e-324",
    code: "BAD_REQUEST",
    field: "chargeEfficiency",
    call: ({ h }) =>
      h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", chargeEfficiency: 5e-324 }),
  },
  {
    name: "job with unknown model",
    code: "NOT_FOUND",
    field: "modelId",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({ modelId: "gpt-9", inputs: [tinyInput([1, 2, 3, 4])] }),
  },
  {
    name: "job priority -1",
    code: "BAD_REQUEST",
    field: "priority",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3, 4])],
        priority: -1,
      }),
  },
  {
    name: "job replication 6",
    code: "BAD_REQUEST",
    field: "replication",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3, 4])],
        replication: 6,
      }),
  },
  {
    name: "job without inputs",
    code: "BAD_REQUEST",
    field: "inputs",
    call: ({ h }) => h.tenant().tenant.jobs.submit.mutate({ modelId: "tiny-mlp", inputs: [] }),
  },
  {
    name: "job tensor with the wrong number of values",
    code: "BAD_REQUEST",
    field: "inputs[1].x.data",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3, 4]), { x: { dims: [1, 16], data: [1, 2, 3] } }],
      }),
  },
  {
    name: "job tensor of the wrong shape for the model",
    code: "BAD_REQUEST",
    field: "inputs[0].x.dims",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [{ x: { dims: [2, 2], data: [1, 2, 3, 4] } }],
      }),
  },
  {
    name: "job over the inline input limit",
    code: "BAD_REQUEST",
    field: "inputs",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: Array.from({ length: 200 }, () => tinyInput([1.5, 2.5, 3.5, 4.5])),
      }),
  },
  {
    name: "job with a deadline in the past",
    code: "BAD_REQUEST",
    field: "deadlineAt",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1])],
        deadlineAt: "2020-01-01T00:00:00Z",
      }),
  },
  {
    name: "job image for a model that takes tensors",
    code: "BAD_REQUEST",
    field: "inputs[0].image",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [{ image: { demo: "line-hello-world-0.png" } }],
      }),
  },
  {
    name: "job tensor for a model that takes images",
    code: "BAD_REQUEST",
    field: "inputs[1]",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: [{ image: { demo: "line-hello-world-0.png" } }, tinyInput([1])],
      }),
  },
  {
    name: "job with an unknown demo image",
    code: "BAD_REQUEST",
    field: "inputs[0].image.demo",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: [{ image: { demo: "no-such-image.png" } }],
      }),
  },
  {
    name: "job image that is neither PNG nor JPEG",
    code: "BAD_REQUEST",
    field: "inputs[0].image.base64",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: [{ image: { base64: Buffer.from("GIF89a, not what we take").toString("base64") } }],
      }),
  },
  {
    name: "fail with an empty message",
    code: "BAD_REQUEST",
    field: "message",
    call: ({ car, leaseId }) =>
      car.client.node.fail.mutate({ leaseId, reason: "bad-input", message: "  " }),
  },
  {
    name: "fail with an unknown reason",
    code: "BAD_REQUEST",
    field: "reason",
    call: ({ car, leaseId }) =>
      car.client.node.fail.mutate({ leaseId, reason: "bored" as "runtime", message: "x" }),
  },
  {
    name: "status of an unknown job",
    code: "NOT_FOUND",
    field: "jobId",
    call: ({ h }) =>
      h.tenant().tenant.jobs.get.query({ jobId: "00000000-0000-4000-8000-000000000000" }),
  },
  {
    name: "results of a malformed job id",
    code: "BAD_REQUEST",
    field: "jobId",
    call: ({ h }) => h.tenant().tenant.jobs.results.query({ jobId: "42" }),
  },
  {
    name: "tenant quota above 1",
    code: "BAD_REQUEST",
    field: "quotaShare",
    call: ({ h }) => h.operator.operator.tenants.update.mutate({ id: "mapworks", quotaShare: 1.5 }),
  },
  {
    name: "tenant input storage quota of a fraction of a byte",
    code: "BAD_REQUEST",
    field: "inputStorageQuotaBytes",
    call: ({ h }) =>
      h.operator.operator.tenants.update.mutate({ id: "mapworks", inputStorageQuotaBytes: 0.5 }),
  },
  {
    name: "tenant input storage quota past a PiB",
    code: "BAD_REQUEST",
    field: "inputStorageQuotaBytes",
    call: ({ h }) =>
      h.operator.operator.tenants.create.mutate({
        id: "newco",
        name: "New Co",
        inputStorageQuotaBytes: 2 ** 60,
      }),
  },
  {
    name: "update of an unknown tenant",
    code: "NOT_FOUND",
    field: "id",
    call: ({ h }) => h.operator.operator.tenants.update.mutate({ id: "nobody", weight: 2 }),
  },
  {
    name: "region tariff with a gap",
    code: "BAD_REQUEST",
    field: "tariff",
    call: ({ h }) =>
      h.operator.operator.regions.update.mutate({
        id: "us-west",
        tariff: [{ start: 0, end: 12, priceUsdPerKWh: 0.2 }],
      }),
  },
  {
    name: "region in an unknown time zone",
    code: "BAD_REQUEST",
    field: "timeZone",
    call: ({ h }) =>
      h.operator.operator.regions.update.mutate({ id: "us-west", timeZone: "America/Atlantis" }),
  },
  {
    name: "region time zone given as an offset",
    code: "BAD_REQUEST",
    field: "timeZone",
    call: ({ h }) =>
      h.operator.operator.regions.update.mutate({ id: "us-west", timeZone: "-08:00" }),
  },
  {
    name: "region with the retired utcOffsetH",
    code: "BAD_REQUEST",
    field: "utcOffsetH",
    call: ({ h }) =>
      h.operator.operator.regions.update.mutate({
        id: "us-west",
        utcOffsetH: -8,
      } as unknown as { id: string }),
  },
  {
    name: "quarantine of an unknown car",
    code: "NOT_FOUND",
    field: "carId",
    call: ({ h }) =>
      h.operator.operator.cars.quarantine.mutate({ carId: "00000000-0000-4000-8000-000000000000" }),
  },
  {
    name: "a forged cursor",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) => h.operator.operator.cars.list.query({ cursor: "bm90IGEgY3Vyc29y" }),
  },
  // Text PostgreSQL refuses (NUL in text and jsonb; a lone surrogate in jsonb, where audit
  // details and task inputs go) or that has no place in a name: refused by the schema, not by
  // the database as an internal error.
  {
    name: "enroll with NUL in the car's name",
    code: "BAD_REQUEST",
    field: "name",
    call: ({ h }) => h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", name: "a\u0000b" }),
  },
  {
    name: "enroll with NUL in the owner's name",
    code: "BAD_REQUEST",
    field: "ownerName",
    call: ({ h }) =>
      h.anonymous.node.enroll.mutate({ code: "DEMO-NIGHTSHIFT", ownerName: "\u0000" }),
  },
  {
    name: "job with NUL in the model id",
    code: "BAD_REQUEST",
    field: "modelId",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp\u0000",
        inputs: [tinyInput([1, 2, 3, 4])],
      }),
  },
  {
    name: "job with NUL in the idempotency key",
    code: "BAD_REQUEST",
    field: "idempotencyKey",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3, 4])],
        idempotencyKey: "k\u0000",
      }),
  },
  {
    name: "job with a lone surrogate in a feed's name",
    code: "BAD_REQUEST",
    field: "inputs[0]",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [{ ["x\uD800"]: { dims: [1, 4], data: [1, 2, 3, 4] } }],
      }),
  },
  {
    name: "job with a deadline past the year 9999",
    code: "BAD_REQUEST",
    field: "deadlineAt",
    call: ({ h }) =>
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "tiny-mlp",
        inputs: [tinyInput([1, 2, 3, 4])],
        deadlineAt: "9999-12-31T23:59:59-14:00",
      }),
  },
  {
    name: "heartbeat departing in the year 0",
    code: "BAD_REQUEST",
    field: "predictedDepartureAt",
    call: ({ car }) =>
      car.client.node.heartbeat.mutate({ ...PARKED, predictedDepartureAt: "0000-06-01T00:00:00Z" }),
  },
  {
    name: "ledger from the year 0",
    code: "BAD_REQUEST",
    field: "from",
    call: ({ h }) =>
      h.operator.operator.ledger.summary.query({ by: "tenant", from: "0000-06-01T00:00:00Z" }),
  },
  {
    name: "fail with NUL in the message",
    code: "BAD_REQUEST",
    field: "message",
    call: ({ car, leaseId }) =>
      car.client.node.fail.mutate({ leaseId, reason: "runtime", message: "oom\u0000" }),
  },
  {
    name: "tenant with NUL in its name",
    code: "BAD_REQUEST",
    field: "name",
    call: ({ h }) =>
      h.operator.operator.tenants.create.mutate({ id: "newco", name: "New\u0000Co" }),
  },
  {
    name: "tenant with a lone surrogate in its name",
    code: "BAD_REQUEST",
    field: "name",
    call: ({ h }) =>
      h.operator.operator.tenants.create.mutate({ id: "newco", name: "New\uD800Co" }),
  },
  {
    name: "tenant renamed with a control character",
    code: "BAD_REQUEST",
    field: "name",
    call: ({ h }) =>
      h.operator.operator.tenants.update.mutate({ id: "mapworks", name: "Map\u001bworks" }),
  },
  {
    name: "enrollment code with NUL in the owner's name",
    code: "BAD_REQUEST",
    field: "ownerName",
    call: ({ h }) => h.operator.operator.enrollmentCodes.create.mutate({ ownerName: "Ann\u0000" }),
  },
  {
    name: "enrollment code revoked by an id with NUL",
    code: "BAD_REQUEST",
    field: "id",
    call: ({ h }) =>
      h.operator.operator.enrollmentCodes.revoke.mutate({ id: `${"0".repeat(63)}\u0000` }),
  },
  {
    name: "enrollment codes listed from a cursor whose time PostgreSQL cannot read",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) =>
      h.operator.operator.enrollmentCodes.list.query({
        cursor: cursorOf(["2025-02-30 00:00:00+00", "0".repeat(64)]),
      }),
  },
  {
    name: "region renamed with NUL",
    code: "BAD_REQUEST",
    field: "name",
    call: ({ h }) => h.operator.operator.regions.update.mutate({ id: "us-west", name: "W\u0000" }),
  },
  {
    name: "quarantine with a lone surrogate in the reason",
    code: "BAD_REQUEST",
    field: "reason",
    call: ({ h, car }) =>
      h.operator.operator.cars.quarantine.mutate({ carId: car.carId, reason: "\uDC00" }),
  },
  {
    name: "audit events of an action with NUL",
    code: "BAD_REQUEST",
    field: "action",
    call: ({ h }) => h.operator.operator.audit.list.query({ action: "jobs.cancel\u0000" }),
  },
  // Cursors: well-formed JSON in base64url, with parts PostgreSQL cannot take.
  {
    name: "a tenant's job cursor whose id is not a uuid",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) =>
      h.tenant().tenant.jobs.list.query({
        cursor: cursorOf(["2030-01-01T00:00:00.000Z", "not-a-uuid"]),
      }),
  },
  {
    name: "an operator's job cursor in the year 0",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) =>
      h.operator.operator.jobs.list.query({
        cursor: cursorOf(["0000-06-01T00:00:00.000Z", UUID]),
      }),
  },
  {
    name: "a car cursor that is no time",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) => h.operator.operator.cars.list.query({ cursor: cursorOf(["yesterday", UUID]) }),
  },
  {
    name: "a car cursor on a day that does not exist",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) =>
      h.operator.operator.cars.list.query({
        sort: "lastHeartbeatAt",
        cursor: cursorOf(["2025-02-30 00:00:00+00", UUID]),
      }),
  },
  {
    name: "a car cursor with a charge out of range",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) =>
      h.operator.operator.cars.list.query({ sort: "socPct", cursor: cursorOf(["1e400", UUID]) }),
  },
  {
    name: "a car cursor with NUL in the name",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h }) =>
      h.operator.operator.cars.list.query({ sort: "name", cursor: cursorOf(["a\u0000", UUID]) }),
  },
  {
    name: "a car's tasks from offset -5",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h, car }) => h.operator.operator.cars.tasks.query({ carId: car.carId, cursor: -5 }),
  },
  {
    name: "a car's history before event -5",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h, car }) => h.operator.operator.cars.history.query({ carId: car.carId, cursor: -5 }),
  },
  {
    name: "job results after a task past PostgreSQL's integers",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h, jobId }) => h.tenant().tenant.jobs.results.query({ jobId, cursor: 2 ** 31 }),
  },
  {
    name: "job tasks after a task past PostgreSQL's integers",
    code: "BAD_REQUEST",
    field: "cursor",
    call: ({ h, jobId }) => h.operator.operator.jobs.tasks.query({ jobId, cursor: 2 ** 31 }),
  },
  {
    name: "car rows of no car",
    code: "BAD_REQUEST",
    field: "carIds",
    call: ({ h }) => h.operator.operator.cars.rows.query({ carIds: [] }),
  },
  {
    name: "car rows with an id that is not a uuid",
    code: "BAD_REQUEST",
    field: "carIds[0]",
    call: ({ h }) => h.operator.operator.cars.rows.query({ carIds: ["car-1"] }),
  },
];

it(`refuses ${CASES.length} kinds of bad input, naming the field and writing nothing`, async () => {
  const h = await setup(database.get(), { maxOutputValues: 1000, maxInlineInputBytes: 4096 });
  const car = await h.enrollCar();
  const { jobId } = await h.tenant().tenant.jobs.submit.mutate({
    modelId: "tiny-mlp",
    inputs: [tinyInput([1, 2, 3, 4])],
    replication: 1,
  });
  const leaseId = (await car.client.node.lease.mutate({})).tasks[0]!.leaseId;
  const [carBefore] = await h.t.db.select().from(cars).where(eq(cars.id, car.carId));
  const before = await h.counts();
  for (const c of CASES) {
    const got = await failure(c.call({ h, car, jobId, leaseId }));
    expect({ case: c.name, code: got.code }).toEqual({ case: c.name, code: c.code });
    expect(got.message, c.name).toContain(c.field);
    if (c.code === "BAD_REQUEST" && got.issues)
      expect(
        got.issues.map((i) => i.path),
        c.name,
      ).toContain(c.field);
  }
  expect(await h.counts()).toEqual(before);
  const [carAfter] = await h.t.db.select().from(cars).where(eq(cars.id, car.carId));
  expect(carAfter).toEqual(carBefore);
  // The lease survived every bad submit: a good one still goes through.
  const ok = await car.client.node.submit.mutate({
    leaseId,
    output: [0, 0, 0, 0],
    durationMs: 1,
    backend: "wasm",
  });
  expect(ok.accepted).toBe(true);
});

it("refuses an uploaded image that does not decode, with the decoder's reason, writing nothing", async () => {
  const h = await setup(database.get());
  // A real header over image data that does not inflate: its zlib header overwritten.
  const broken = Buffer.from(await readFile(demoImagePath("line-hello-world-0.png")));
  const idat = broken.indexOf("IDAT");
  broken.fill(0xff, idat + 4, idat + 40);
  // A quarter of a MiB whose data inflates to 256 MiB, for a 64×64 image.
  const bomb = await zeroPng({ width: 64, height: 64, inflatedBytes: 256 * 1024 * 1024 });
  const before = await h.counts();
  for (const [bytes, reason] of [
    [broken, /^invalid PNG: /],
    [
      bomb,
      /^invalid PNG: the image data inflates to more than the 16448 bytes a 64×64 image needs$/,
    ],
  ] as const) {
    const got = await failure(
      h.tenant().tenant.jobs.submit.mutate({
        modelId: "ppocr-cls",
        inputs: [
          { image: { demo: "line-hello-world-0.png" } },
          { image: { base64: bytes.toString("base64") } },
        ],
      }),
    );
    expect(got.code).toBe("BAD_REQUEST");
    const field = "inputs[1].image.base64";
    expect(got.issues?.map((i) => i.path)).toContain(field);
    expect(got.message.startsWith(`${field}: `)).toBe(true);
    expect(got.message.slice(field.length + 2)).toMatch(reason);
  }
  expect(await h.counts()).toEqual(before);
});
