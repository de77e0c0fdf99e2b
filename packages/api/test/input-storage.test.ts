// Stored input images: each tenant holds the distinct images its jobs use, within a quota
// (ApiConfig's default, or the operator's figure for that tenant), and the sweep removes what no
// job needs any more: a cancelled job's images at once, a finished job's after the retention;
// an image stays while another tenant's job, an open task or a car's lease needs it.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { demoImagePath } from "@nightshift/models/demo-images";
import { inputBlobs, tenantInputBlobs } from "@nightshift/db/schema";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readImage } from "../src/services/inputs";
import { sweepInputs } from "../src/services/input-storage";
import { failure, type Harness, setup, testDatabase } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

/** Two demo lines and their sizes on disk, bytes: 1805 and 4212. */
const SMALL = "line-hello-world-180.png";
const LARGE = "line-charge-at-80-0.png";

async function demoBytes(file: string): Promise<Buffer> {
  return readFile(demoImagePath(file));
}

function sha256Of(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function imageJob(...images: ({ demo: string } | { base64: string })[]) {
  return { modelId: "ppocr-cls", inputs: images.map((image) => ({ image })), replication: 1 };
}

/** The images a tenant holds, by sha256, sorted. */
async function held(h: Harness, tenantId: string): Promise<string[]> {
  const list = await h.t.db
    .select({ sha256: tenantInputBlobs.sha256 })
    .from(tenantInputBlobs)
    .where(eq(tenantInputBlobs.tenantId, tenantId));
  return list.map((r) => r.sha256).sort();
}

async function stored(h: Harness): Promise<string[]> {
  const list = await h.t.db.select({ sha256: inputBlobs.sha256 }).from(inputBlobs);
  return list.map((r) => r.sha256).sort();
}

describe("the input storage quota", () => {
  it("refuses a job over its tenant's quota, naming the field, the quota and the usage, writing nothing", async () => {
    const h = await setup(database.get(), { inputStorageQuotaBytes: 5000 });
    const small = await demoBytes(SMALL);
    const large = await demoBytes(LARGE);
    const acme = h.tenant();
    // The same image twice in one job, and again in another: held, and paid for, once.
    await acme.tenant.jobs.submit.mutate(imageJob({ demo: SMALL }, { demo: SMALL }));
    await acme.tenant.jobs.submit.mutate(imageJob({ base64: small.toString("base64") }));
    expect(await acme.tenant.storage.get.query()).toEqual({
      usedBytes: small.length,
      quotaBytes: 5000,
      images: 1,
    });

    const before = await h.counts();
    const over = imageJob({ demo: SMALL }, { base64: large.toString("base64") });
    const got = await failure(acme.tenant.jobs.submit.mutate(over));
    expect(got.code).toBe("BAD_REQUEST");
    const field = "inputs[1].image.base64";
    expect(got.issues?.map((i) => i.path)).toContain(field);
    expect(got.message).toBe(
      `${field}: over the tenant's input storage quota: the job's new images need` +
        ` ${large.length} bytes; ${small.length} of its 5000 bytes are in use`,
    );
    expect(await h.counts()).toEqual(before);

    // Another tenant's quota is its own.
    await h.tenant("mapworks").tenant.jobs.submit.mutate(imageJob({ demo: LARGE }));

    // The operator raises acme's quota: the same job goes through.
    const raised = await h.operator.operator.tenants.update.mutate({
      id: "acme-vision",
      inputStorageQuotaBytes: 10_000,
    });
    expect(raised).toMatchObject({
      inputStorageQuotaBytes: 10_000,
      inputStorage: { usedBytes: small.length, quotaBytes: 10_000, images: 1 },
    });
    await acme.tenant.jobs.submit.mutate(over);
    expect(await acme.tenant.storage.get.query()).toEqual({
      usedBytes: small.length + large.length,
      quotaBytes: 10_000,
      images: 2,
    });
    // Back to the default: what is held stays, nothing new fits.
    await h.operator.operator.tenants.update.mutate({
      id: "acme-vision",
      inputStorageQuotaBytes: null,
    });
    const list = await h.operator.operator.tenants.list.query();
    expect(list.find((t) => t.id === "acme-vision")).toMatchObject({
      inputStorageQuotaBytes: null,
      inputStorage: { usedBytes: small.length + large.length, quotaBytes: 5000, images: 2 },
    });
    expect(
      (await failure(acme.tenant.jobs.submit.mutate(imageJob({ demo: "line-open-road-0.png" }))))
        .message,
    ).toMatch(/^inputs\[0\]\.image\.demo: over the tenant's input storage quota: /);
    // Held images still go in new jobs.
    await acme.tenant.jobs.submit.mutate(imageJob({ demo: LARGE }));
  });

  it("lets one of several jobs racing for a tenant's last bytes in, and refuses the others", async () => {
    const small = await demoBytes(SMALL);
    // Each fits alone (1,741 to 2,332 bytes); no two do.
    const lines = ["line-night-shift-0.png", "line-low-tariff-0.png", "line-parked-cars-0.png"];
    for (let round = 0; round < 3; round++) {
      const h = await setup(database.get(), { inputStorageQuotaBytes: small.length + 3000 });
      const acme = h.tenant();
      await acme.tenant.jobs.submit.mutate(imageJob({ demo: SMALL }));
      const outcomes = await Promise.allSettled(
        lines.map((demo) => acme.tenant.jobs.submit.mutate(imageJob({ demo }))),
      );
      expect(outcomes.map((o) => o.status).filter((s) => s === "fulfilled")).toEqual(["fulfilled"]);
      for (const o of outcomes)
        if (o.status === "rejected")
          expect(String(o.reason)).toMatch(/over the tenant's input storage quota/);
      const storage = await acme.tenant.storage.get.query();
      expect(storage.images).toBe(2);
      expect(storage.usedBytes).toBeLessThanOrEqual(storage.quotaBytes);
    }
  });
});

describe("removing images no job needs", () => {
  it("removes a cancelled job's images at the next sweep, keeping those another tenant's job uses", async () => {
    const h = await setup(database.get());
    const small = sha256Of(await demoBytes(SMALL));
    const large = sha256Of(await demoBytes(LARGE));
    const acme = h.tenant();
    const mapworks = h.tenant("mapworks");
    const { jobId } = await acme.tenant.jobs.submit.mutate(
      imageJob({ demo: SMALL }, { demo: LARGE }),
    );
    await mapworks.tenant.jobs.submit.mutate(imageJob({ demo: SMALL }));
    expect(await held(h, "acme-vision")).toEqual([small, large].sort());
    expect(await stored(h)).toEqual([small, large].sort());

    // Nothing goes while the jobs run.
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 0, imagesDeleted: 0 });
    await acme.tenant.jobs.cancel.mutate({ jobId });
    // Two instances sweep at once: the job is released once, the image deleted once.
    const sweeps = await Promise.all([sweepInputs(h.api.deps), sweepInputs(h.api.deps)]);
    expect(sweeps.reduce((n, s) => n + s.jobsReleased, 0)).toBe(1);
    expect(sweeps.reduce((n, s) => n + s.imagesDeleted, 0)).toBe(1);
    expect(await held(h, "acme-vision")).toEqual([]);
    expect(await held(h, "mapworks")).toEqual([small]);
    expect(await stored(h)).toEqual([small]);
    expect(await readImage(h.t.db, large)).toBeNull();
    expect(await readImage(h.t.db, small)).not.toBeNull();
    expect(await acme.tenant.storage.get.query()).toMatchObject({ usedBytes: 0, images: 0 });
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 0, imagesDeleted: 0 });
  });

  it("keeps a tenant's image while another of its jobs needs it, and a running car's", async () => {
    const h = await setup(database.get());
    const small = sha256Of(await demoBytes(SMALL));
    const acme = h.tenant();
    const car = await h.enrollCar();
    const first = await acme.tenant.jobs.submit.mutate(imageJob({ demo: SMALL }));
    const second = await acme.tenant.jobs.submit.mutate(imageJob({ demo: SMALL }));
    await acme.tenant.jobs.cancel.mutate({ jobId: first.jobId });
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 1, imagesDeleted: 0 });
    expect(await held(h, "acme-vision")).toEqual([small]);
    const [task] = (await car.client.node.lease.mutate({})).tasks;
    expect(task?.jobId).toBe(second.jobId);
    expect(await readImage(h.t.db, small)).not.toBeNull();

    // Whatever the accounting says (here: nobody holds it, and the sweep is told to look), a
    // blob that an open task and a car's lease need stays.
    await h.t.db.delete(tenantInputBlobs);
    await h.t.db.execute(sql`UPDATE input_blobs SET reclaim_at = ${h.clock.now()}`);
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 0, imagesDeleted: 0 });
    expect(await stored(h)).toEqual([small]);
  });

  it("keeps a finished job's images for the retention, and while its tasks may be canaries", async () => {
    const h = await setup(database.get(), { inputRetentionS: 3600 });
    const small = sha256Of(await demoBytes(SMALL));
    const acme = h.tenant();
    const car = await h.enrollCar();
    const { jobId } = await acme.tenant.jobs.submit.mutate(imageJob({ demo: SMALL }));
    const [task] = (await car.client.node.lease.mutate({})).tasks;
    await car.client.node.submit.mutate({
      leaseId: task!.leaseId,
      output: [0.125, 0.875],
      durationMs: 3,
      backend: "native",
    });
    expect(await acme.tenant.jobs.get.query({ jobId })).toMatchObject({ status: "completed" });
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 0, imagesDeleted: 0 });

    // Past the retention the tenant no longer holds it; the task, validated within the day,
    // may still be issued as a canary, so the bytes stay.
    h.clock.advance(3601);
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 1, imagesDeleted: 0 });
    expect(await held(h, "acme-vision")).toEqual([]);
    expect(await stored(h)).toEqual([small]);
    // A day later it is no canary's: gone.
    h.clock.advance(24 * 3600);
    expect(await sweepInputs(h.api.deps)).toEqual({ jobsReleased: 0, imagesDeleted: 1 });
    expect(await stored(h)).toEqual([]);
  });
});
