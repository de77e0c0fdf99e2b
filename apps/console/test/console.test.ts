// The console end to end: its production build in Chromium, against a real server with the demo
// data. One server and one browser for the whole file; the steps build on each other (cars
// enrolled in one are listed, leased and quarantined in the next).
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFleet } from "@nightshift/agent/fleet";
import { createTwin } from "@nightshift/agent/twin";
import { runTiny, TEST_MODEL_ID, tinyInput } from "@nightshift/api/seed";
import { demoImagePath } from "@nightshift/models/demo-images";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import type { AxeResults, RunOptions } from "axe-core";
import type { Locator } from "playwright-core";
import { HANG_MS } from "@nightshift/testkit/waits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  PARKED,
  pageLoaded,
  parkCars,
  screenshot,
  signIn,
  startHarness,
} from "./harness";

/** axe-core's browser build, injected into each page the accessibility check reads. */
const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

let h: Harness;
let operator: NightshiftClient;
let cars: Awaited<ReturnType<typeof parkCars>> = [];

beforeAll(async () => {
  h = await startHarness();
  const session = await createNightshiftClient({ url: h.server.url }).operator.auth.signIn.mutate({
    email: h.demo.email,
    password: h.demo.password,
  });
  operator = createNightshiftClient({ url: h.server.url, credential: session.token });
});

afterAll(async () => {
  await h?.stop();
});

async function statNumber(testId: string): Promise<number> {
  const text = await h.page.getByTestId(testId).innerText();
  return Number(text.replace(/[^0-9.]/g, ""));
}

/**
 * The tick labels of the chart library's charts inside `container`, and those drawn (even in
 * part) outside their chart's box: an SVG clips what overflows it, so a label past the edge is
 * cut off on the screen, while its box still says where it would be.
 */
async function tickLabels(container: Locator): Promise<{ labels: string[]; clipped: string[] }> {
  return container.evaluateAll((roots) => {
    const labels: string[] = [];
    const clipped: string[] = [];
    for (const root of roots) {
      for (const tick of root.querySelectorAll(".recharts-cartesian-axis-tick-value")) {
        // Each label against the box of its own chart.
        const box = tick.closest("svg.recharts-surface")!.getBoundingClientRect();
        const b = tick.getBoundingClientRect();
        const text = tick.textContent ?? "";
        labels.push(text);
        const inside =
          b.left >= box.left - 0.5 &&
          b.right <= box.right + 0.5 &&
          b.top >= box.top - 0.5 &&
          b.bottom <= box.bottom + 0.5;
        if (!inside) {
          clipped.push(
            `"${text}" at x ${b.left.toFixed(1)}–${b.right.toFixed(1)}, y ${b.top.toFixed(1)}–${b.bottom.toFixed(1)}; chart x ${box.left.toFixed(1)}–${box.right.toFixed(1)}, y ${box.top.toFixed(1)}–${box.bottom.toFixed(1)}`,
          );
        }
      }
    }
    return { labels, clipped };
  });
}

/**
 * A chart's value-axis labels, left and right of its plot. (The chart library draws tick labels
 * in a layer of their own, outside their axis's element: they are told apart by where they are.)
 */
async function valueAxisLabels(chart: Locator): Promise<{ left: string[]; right: string[] }> {
  return chart.evaluate((root) => {
    const plot = root.querySelector(".recharts-cartesian-grid")!.getBoundingClientRect();
    const out = { left: [] as string[], right: [] as string[] };
    for (const tick of root.querySelectorAll(".recharts-yAxis-tick-labels text")) {
      const b = tick.getBoundingClientRect();
      (b.right <= plot.left + 1 ? out.left : out.right).push(tick.textContent ?? "");
    }
    return out;
  });
}

/** Opens a confirmation dialog with `button` and confirms it with `confirm`. */
async function confirm(buttonTestId: string, confirmName: string | RegExp): Promise<void> {
  await h.page.getByTestId(buttonTestId).click();
  const dialog = h.page.locator("dialog[open]");
  await dialog.waitFor();
  await dialog.getByRole("button", { name: confirmName }).click();
  await dialog.waitFor({ state: "detached" }).catch(() => undefined);
  await h.page.locator("dialog[open]").waitFor({ state: "hidden" });
}

describe("console", () => {
  it("asks for a sign-in, refuses a wrong password, then shows the live fleet", async () => {
    const { page } = h;
    await page.goto(`${h.console.url}/fleet`);
    await page.waitForURL(/\/sign-in/);
    await screenshot(page, "sign-in");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect
      .poll(() => page.locator("form [role=alert]").innerText())
      .toContain("wrong email or password");

    await signIn(page, h.console.url, h.demo.email, h.demo.password);
    await page.getByTestId("stat-total").waitFor();
    expect(await statNumber("stat-total")).toBeGreaterThanOrEqual(0);
  });

  it("counts cars as they enroll and report in", async () => {
    const before = await statNumber("stat-total");
    const parkedBefore = await statNumber("stat-parked");
    cars = await parkCars(h, 3);
    await expect.poll(() => statNumber("stat-total"), { timeout: HANG_MS }).toBe(before + 3);
    await expect.poll(() => statNumber("stat-parked"), { timeout: HANG_MS }).toBe(parkedBefore + 3);
    await expect.poll(() => statNumber("stat-eligible"), { timeout: HANG_MS }).toBeGreaterThan(0);
    await screenshot(h.page, "fleet-live");
  });

  it("says why the cars that are not eligible cannot take work, counted", async () => {
    const { page } = h;
    // One car more that drives off, and one that enrolls and never reports in.
    const [driver] = await parkCars(h, 1);
    await driver!.client.node.heartbeat.mutate({ ...PARKED, state: "driving" });
    const silent = await createNightshiftClient({ url: h.server.url }).node.enroll.mutate({
      code: h.demo.enrollmentCode,
    });
    cars.push(driver!);
    const summary = await operator.operator.fleet.summary.query();
    const count = (reason: string) => summary.refusals.find((r) => r.reason === reason)?.cars;
    expect(count("driving")).toBeGreaterThanOrEqual(1);
    expect(count("no-heartbeat")).toBeGreaterThanOrEqual(1);
    // The page's line names each reason in words, with the server's count.
    const line = page.getByTestId("refusals");
    await expect.poll(() => line.innerText()).toContain(`${count("driving")} driving`);
    await expect.poll(() => line.innerText()).toContain(`${count("no-heartbeat")} offline`);
    // The car that never reported in is offline on its own page too.
    const detail = await operator.operator.cars.get.query({ carId: silent.carId });
    expect(detail).toMatchObject({ online: false, rejection: "no-heartbeat" });
    await screenshot(page, "fleet-refusals");
    // Revoked, it is no longer counted (the steps after this one count the cars they enrolled).
    await operator.operator.cars.revoke.mutate({ carId: silent.carId });
    await expect.poll(() => line.innerText()).not.toContain(`${count("no-heartbeat")} offline`);
  });

  it("charts the server's minute samples by region against the datacenter line", async () => {
    const { page } = h;
    await h.recordFleetSample();
    const sampled = new Set(
      (await operator.operator.fleet.series.query({ hours: 24 })).points.map((p) => p.at),
    ).size;
    expect(sampled).toBeGreaterThanOrEqual(1);
    // A fresh page fetches the series at once (it refetches only each minute).
    await page.reload();
    const chart = page.getByTestId("fleet-chart");
    await chart.waitFor();
    expect(Number(await chart.getAttribute("data-sampled"))).toBe(sampled);
    await expect
      .poll(() => page.getByTestId("series-note").innerText())
      .toMatch(/^\d+ minute samples? from the server/);
    // The stacked regions, the whole fleet and the reference line in the legend, and drawn.
    const legend = chart.locator(".u-legend");
    const regions = await operator.operator.regions.list.query();
    for (const name of ["Whole fleet", ...regions.map((r) => r.name)])
      await expect.poll(() => legend.innerText()).toContain(name);
    // One legend row per series: the time, each region and the fleet.
    expect(await legend.locator("tr.u-series").count()).toBe(regions.length + 2);
    // The canvas tells a screen reader the newest figures: the fleet's power and its share of
    // the datacenter (a few cars are a tiny share, written out, not rounded to 0%).
    const canvas = chart.locator("canvas[role=img]");
    expect(await canvas.getAttribute("aria-label")).toMatch(
      /^Available power over the last 24 hours.*: [\d.,]+ k?W now, (0\.0*[1-9][\d]*|[1-9][\d.,]*)% of one 150 MW datacenter\.$/,
    );
    // The text under the heading says what the right-hand axis is and where this fleet stands.
    expect(await page.getByTestId("reference-note").innerText()).toMatch(
      /share of one 150 MW AI datacenter .*Now [\d.,]+ k?W is [\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+% of it: about [\d.,]+ fleets like this one would match it\.$/,
    );
    // Something is painted: the canvas is not all transparent.
    const painted = await canvas.evaluate((c: HTMLCanvasElement) => {
      const { data } = c.getContext("2d")!.getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(1000);
    // The figures of the moment under the pointer: the legend's values, blank until it moves.
    const fleetValue = legend
      .locator("tr.u-series", { hasText: "Whole fleet" })
      .locator(".u-value");
    await chart.locator(".u-over").hover();
    await expect.poll(() => fleetValue.innerText()).toMatch(/^[\d.,]+ k?W$/);
    // The canvas cannot use CSS variables: the theme toggle redraws it in the other theme's colours.
    const fleetMarker = legend
      .locator("tr.u-series", { hasText: "Whole fleet" })
      .locator(".u-marker");
    const markerColour = () => fleetMarker.evaluate((m) => getComputedStyle(m).borderColor);
    const light = await markerColour();
    await page.getByRole("button", { name: "Dark theme" }).click();
    await expect.poll(markerColour).not.toBe(light);
    await page.getByRole("button", { name: "Light theme" }).click();
    await expect.poll(markerColour).toBe(light);
    // Back to following the system, as the other tests expect.
    await page.evaluate(() => {
      localStorage.removeItem("nightshift-theme");
      delete document.documentElement.dataset.theme;
    });
    // Utilization is cars at work ÷ eligible: nothing leased yet.
    expect(await page.getByTestId("stat-utilization").innerText()).toBe("0%");
    await page.getByTestId("regions-now").waitFor();
    await screenshot(page, "fleet");
  });

  it("lists the cars, opens one, and quarantines and releases it", async () => {
    const { page } = h;
    await page.getByRole("navigation").getByRole("link", { name: "Cars" }).click();
    await page.waitForURL(/\/cars$/);
    const table = page.getByTestId("cars-table");
    await expect.poll(() => table.getByRole("row").count()).toBe(cars.length + 1);
    await screenshot(page, "cars");
    // The rows in view are live: a car's new charge shows without a reload.
    const { name } = await operator.operator.cars.get.query({ carId: cars[2]!.carId });
    const row = table.getByRole("row").filter({ has: page.getByRole("link", { name }) });
    expect(await row.innerText()).not.toContain("37%");
    await cars[2]!.client.node.heartbeat.mutate({ ...PARKED, socPct: 37 });
    await expect.poll(() => row.innerText()).toContain("37%");

    await page.goto(`${h.console.url}/cars/${cars[0]!.carId}`);
    await confirm("car-quarantine", "Quarantine");
    await page.getByTestId("car-release").waitFor();
    expect((await operator.operator.cars.get.query({ carId: cars[0]!.carId })).quarantined).toBe(
      true,
    );
    await confirm("car-release", "Release");
    await page.getByTestId("car-quarantine").waitFor();
    expect((await operator.operator.cars.get.query({ carId: cars[0]!.carId })).quarantined).toBe(
      false,
    );
    // Both actions, from the audit log's events about this car.
    const audit = page.getByTestId("car-audit");
    await audit.getByText("cars.release").waitFor();
    await audit.getByText("cars.quarantine").waitFor();
    // The car reported in once: parked and plugged in. Nothing leased to it yet.
    await expect.poll(() => page.getByTestId("car-history").innerText()).toContain("parked");
    await page.getByText("This car has not been given any work yet.").waitFor();
    await screenshot(page, "car");
  });

  it("submits a job for a tenant and shows its results as cars validate them", async () => {
    const { page } = h;
    const tenantId = "acme-vision";
    await page.goto(`${h.console.url}/jobs/new`);
    await page.getByRole("combobox", { name: /^Tenant/ }).selectOption(tenantId);
    await page.getByRole("combobox", { name: /^Model/ }).selectOption(TEST_MODEL_ID);
    await page.getByRole("combobox", { name: /^Replication/ }).selectOption("1");
    // A tensor model: the form offers JSON, started from an input of the model's shape.
    await expect.poll(() => page.getByLabel(/Inputs: a JSON list/).inputValue()).toContain('"x"');
    await page
      .getByLabel(/Inputs: a JSON list/)
      .fill(JSON.stringify([tinyInput([1, 2, 3, 4]), tinyInput([5, 6, 7, 8])]));
    await screenshot(page, "submit-job");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split("/").pop()!;
    await expect.poll(() => page.getByTestId("job-status").innerText()).toBe("queued");

    // A car does the work: each task leased, computed and submitted.
    const car = cars[1]!.client;
    for (let done = 0; done < 2;) {
      const { tasks } = await car.node.lease.mutate({ max: 2 });
      for (const task of tasks) {
        const x = (task.input as { x: { data: number[] } }).x.data;
        await car.node.submit.mutate({
          leaseId: task.leaseId,
          output: runTiny(x),
          durationMs: 5,
          backend: "native",
        });
        done++;
      }
    }
    await expect
      .poll(() => page.getByTestId("job-status").innerText(), { timeout: HANG_MS })
      .toBe("completed");
    // Task 0's output, as the page rounds it.
    const first = runTiny(tinyInput([1, 2, 3, 4]).x.data)[0]!;
    const shown = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 }).format(first);
    await expect
      .poll(() => page.getByTestId("task-result").first().innerText(), { timeout: HANG_MS })
      .toContain(shown);
    // Each task's replica: the car that ran it, its lease submitted and its verdict valid.
    const carName = (await operator.operator.cars.get.query({ carId: cars[1]!.carId })).name;
    const replicas = page.getByTestId("replicas");
    await expect.poll(() => replicas.count()).toBe(2);
    for (const i of [0, 1]) {
      await expect.poll(() => replicas.nth(i).innerText()).toContain("valid");
      const text = await replicas.nth(i).innerText();
      expect(text).toContain(carName);
      expect(text).toContain("submitted");
      expect(text).toContain("native");
    }
    await screenshot(page, "job");
    expect((await operator.operator.jobs.get.query({ jobId })).status).toBe("completed");
    // Submitted by the operator on the tenant's behalf, and audited as such.
    const submitted = await operator.operator.audit.list.query({ subjectId: jobId });
    expect(submitted.items.map((e) => e.action)).toContain("jobs.submit");

    // The car that did the work lists it, with its verdict, backend and latency.
    await page.goto(`${h.console.url}/cars/${cars[1]!.carId}`);
    const work = page.getByTestId("car-tasks");
    await expect.poll(() => work.locator("tbody tr").count()).toBe(2);
    const row = await work.locator("tbody tr").first().innerText();
    expect(row).toContain(TEST_MODEL_ID);
    expect(row).toContain("valid");
    expect(row).toContain("native");
    expect(row).toContain("5 ms");
    await screenshot(page, "car-work");

    await page.getByRole("navigation").getByRole("link", { name: "Jobs" }).click();
    await page.getByTestId("jobs-table").getByText("completed").waitFor();
    await screenshot(page, "jobs");
  });

  it("submits images and shows the text boxes and the direction that cars found", async () => {
    const { page } = h;
    const submit = async (modelId: string, file: string): Promise<string> => {
      await page.goto(`${h.console.url}/jobs/new`);
      await page.getByRole("combobox", { name: /^Tenant/ }).selectOption("acme-vision");
      await page.getByRole("combobox", { name: /^Model/ }).selectOption(modelId);
      await page.getByRole("combobox", { name: /^Replication/ }).selectOption("1");
      await page.getByLabel(/^Images \(one task each/).setInputFiles(demoImagePath(file));
      await page.getByRole("img", { name: "Selected image 1" }).waitFor();
      if (modelId === "ppocr-det") await screenshot(page, "submit-image");
      await page.getByRole("button", { name: "Submit job" }).click();
      await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
      return page.url();
    };
    const detect = await submit("ppocr-det", "page-1.png");
    const classify = await submit("ppocr-cls", "line-hello-world-180.png");

    // One headless car with onnxruntime-node does the work.
    const modelDir = mkdtempSync(join(tmpdir(), "nightshift-console-models-"));
    const fleet = runFleet({
      server: h.server.url,
      code: h.demo.enrollmentCode,
      cars: 1,
      twin: (_i, nowMs) => createTwin({ nowMs, socPct: 80, pluggedIn: true, chargerKW: 11 }),
      modelDir,
      maxLease: 4,
      heartbeatMs: 2_000,
    });
    try {
      await page.goto(classify);
      await expect
        .poll(() => page.getByTestId("job-status").innerText(), { timeout: HANG_MS })
        .toBe("completed");
      await expect.poll(() => page.getByTestId("direction").innerText()).toContain("180");
      await screenshot(page, "job-direction");

      await page.goto(detect);
      await expect
        .poll(() => page.getByTestId("job-status").innerText(), { timeout: HANG_MS })
        .toBe("completed");
      await expect
        .poll(() => page.getByTestId("text-boxes").locator("rect").count())
        .toBeGreaterThan(0);
      await expect.poll(() => page.getByTestId("replicas").first().innerText()).toContain("valid");
      await screenshot(page, "job-boxes");
    } finally {
      await fleet.stop();
      rmSync(modelDir, { recursive: true, force: true });
    }
  });

  it("edits a tenant's quota", async () => {
    const { page } = h;
    await page.getByRole("link", { name: "Tenants" }).click();
    await page.getByTestId("edit-mapworks").click();
    const dialog = page.locator("dialog[open]");
    await dialog.getByLabel("Quota (% of the fleet)").fill("35");
    await dialog.getByLabel("Weight").fill("1.5");
    await dialog.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByTestId("quota-mapworks").innerText()).toBe("35.0%");
    const stored = (await operator.operator.tenants.list.query()).find((t) => t.id === "mapworks");
    expect(stored).toMatchObject({ quotaShare: 0.35, weight: 1.5 });
    await screenshot(page, "tenants");
  });

  it("drains and restores a region, and the audit log records both", async () => {
    const { page } = h;
    await page.getByRole("link", { name: "Controls & audit" }).click();
    const region = "us-west";
    await confirm(`drain-${region}`, "Drain region");
    await page.getByTestId(`undrain-${region}`).waitFor();
    const drained = (await operator.operator.regions.list.query()).find((r) => r.id === region);
    expect(drained?.drained).toBe(true);
    await page.getByTestId("audit-table").getByText("regions.drain").waitFor();
    await screenshot(page, "controls");

    await confirm(`undrain-${region}`, "Restore");
    await page.getByTestId(`drain-${region}`).waitFor();
    const restored = (await operator.operator.regions.list.query()).find((r) => r.id === region);
    expect(restored?.drained).toBe(false);
    await page.getByTestId("audit-table").getByText("regions.undrain").waitFor();
    const actions = (await operator.operator.audit.list.query({ subjectKind: "region" })).items.map(
      (e) => e.action,
    );
    expect(actions.slice(0, 2)).toEqual(["regions.undrain", "regions.drain"]);
  });

  it("shows small energy and money in mWh and ¢, on axes whose labels fit", async () => {
    const { page } = h;
    // The work so far (a few tensor and image tasks) is a small figure: in mWh or Wh, not
    // "0.000267 kWh", and its cost in cents, not "$0.000066". Pay and energy follow the server's
    // estimate of each run on the car's computer (under a millisecond for a tensor task), so a
    // car's figure can be far below a mWh: then it reads "7.99×10⁻¹⁰ mWh", still not in kWh.
    await page.goto(`${h.console.url}/cars/${cars[1]!.carId}`);
    await expect
      .poll(() => page.getByTestId("car-energy").innerText())
      // ("0 Wh" is how zero prints: a figure in mWh is never zero.)
      .toMatch(/^[\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+ mWh$/);
    await expect
      .poll(() => page.getByTestId("car-cost").innerText())
      .toMatch(/^[\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+¢$/);

    await page.getByRole("link", { name: "Energy & money" }).click();
    await page.getByRole("heading", { name: "Energy by region" }).waitFor();
    await expect
      .poll(() => page.getByTestId("energy-total").innerText())
      .toMatch(/^(?!0 )[\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+ (mWh|Wh)$/);
    await expect
      .poll(() => page.getByTestId("energy-cost").innerText())
      .toMatch(/^[\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+¢$/);
    expect(await page.getByTestId("energy-carbon").innerText()).toMatch(
      /^(?!0 )[\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+ (mg|g) CO₂$/,
    );
    const charts = page.locator("[data-testid=energy-chart], [data-testid=money-chart]");
    // At the console's default width, and at a phone's.
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page
        .getByTestId("money-chart")
        .locator(".recharts-yAxis-tick-labels")
        .first()
        .waitFor();
      // The charts lay out again at the new width on their own time: every label inside its
      // chart once they have (and, if one stays outside, the poll's time runs out naming it).
      await expect.poll(async () => (await tickLabels(charts)).clipped).toEqual([]);
      // Both axes of both charts were looked at.
      const { labels } = await tickLabels(charts);
      expect(labels.length, labels.join(" | ")).toBeGreaterThanOrEqual(10);
      // The value axes in the unit their size reads best in: energy in mWh or Wh, money in ¢,
      // carbon in mg or g of CO₂.
      const energyAxis = (await valueAxisLabels(page.getByTestId("energy-chart"))).left;
      expect(energyAxis.length).toBeGreaterThanOrEqual(2);
      expect(
        energyAxis.every((l) => / (mWh|Wh)$/.test(l)),
        energyAxis.join(" | "),
      ).toBe(true);
      const money = await valueAxisLabels(page.getByTestId("money-chart"));
      expect(money.left.length).toBeGreaterThanOrEqual(2);
      expect(
        money.left.every((l) => /¢$/.test(l)),
        money.left.join(" | "),
      ).toBe(true);
      expect(money.right.length).toBeGreaterThanOrEqual(2);
      expect(
        money.right.every((l) => / (mg|g) CO₂$/.test(l)),
        money.right.join(" | "),
      ).toBe(true);
      await screenshot(page, `energy-${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    // The figures under the pointer, in the same units: the pointer goes across each chart's
    // hours (again, until the tooltip has caught up) to find the one with the work in it.
    for (const [testId, unit] of [
      ["energy-chart", / [\d.,]+ (mWh|Wh)/],
      ["money-chart", /[\d.,×⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+¢/],
    ] as const) {
      const chart = page.getByTestId(testId);
      const plot = (await chart.locator(".recharts-cartesian-grid").boundingBox())!;
      const sweep = async () => {
        const shown: string[] = [];
        for (let i = 0; i < 24; i++) {
          await page.mouse.move(plot.x + ((i + 0.5) * plot.width) / 24, plot.y + plot.height / 2);
          shown.push(await chart.locator(".recharts-tooltip-wrapper").innerText());
        }
        return shown.join(" | ");
      };
      await expect.poll(sweep).toMatch(unit);
    }
  });

  it("submits a job that asks for the cheapest power and shows what deferring saved", async () => {
    const { page } = h;
    await page.goto(`${h.console.url}/jobs/new`);
    await page.getByRole("combobox", { name: /^Tenant/ }).selectOption("acme-vision");
    await page.getByRole("combobox", { name: /^Model/ }).selectOption(TEST_MODEL_ID);
    await page.getByRole("combobox", { name: /^Replication/ }).selectOption("1");
    await page.getByRole("combobox", { name: /^Objective/ }).selectOption("cheapest");
    await expect.poll(() => page.getByLabel(/Inputs: a JSON list/).inputValue()).toContain('"x"');
    await page.getByLabel(/Inputs: a JSON list/).fill(JSON.stringify([tinyInput([9, 8, 7, 6])]));
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split("/").pop()!;
    await expect.poll(() => page.getByTestId("job-objective").innerText()).toBe("cheapest");

    // A car on its battery never waits for better grid power (core's deferral), so it runs the
    // work now, whatever the hour: the ledger keeps what the same run cost when the job came.
    const [car] = await parkCars(h, 1);
    await car!.client.node.heartbeat.mutate({ ...PARKED, pluggedIn: false, chargerKW: 0 });
    const { tasks } = await car!.client.node.lease.mutate({ max: 1 });
    expect(tasks.map((t) => t.jobId)).toEqual([jobId]);
    await car!.client.node.submit.mutate({
      leaseId: tasks[0]!.leaseId,
      output: runTiny((tasks[0]!.input as { x: { data: number[] } }).x.data),
      durationMs: 5,
      backend: "native",
    });
    await expect
      .poll(() => page.getByTestId("job-status").innerText(), { timeout: HANG_MS })
      .toBe("completed");

    // The Energy page counts that run, in total and for its tenant, with what it saved.
    await page.goto(`${h.console.url}/energy`);
    await expect.poll(() => page.getByTestId("deferral-runs").innerText()).toBe("1");
    expect(await page.getByTestId("deferral-saved-usd").innerText()).toMatch(/(¢|\$[\d.,]+)$/);
    expect(await page.getByTestId("deferral-saved-carbon").innerText()).toMatch(/ CO₂$/);
    const byTenant = page.getByTestId("deferral-by-tenant").locator("tbody tr");
    await expect.poll(() => byTenant.count()).toBe(1);
    expect(await byTenant.first().innerText()).toMatch(/^acme-vision\s+1\s/);
    await expect
      .poll(() => page.getByText(/^Runs of jobs that asked for the cheapest or cleanest/).count())
      .toBe(1);
    await screenshot(page, "energy-deferral");
  });

  it("names what is wrong with a bad tariff", async () => {
    const { page } = h;
    await page.getByRole("link", { name: "Energy & money" }).click();
    await page.getByRole("heading", { name: "Energy by region" }).waitFor();
    // The first region's zone, and its offset now (CET or CEST, whatever the date).
    await expect
      .poll(() => page.getByText(/^Local time in /).innerText())
      .toMatch(/^Local time in Europe\/Stockholm, UTC\+[12] now\./);
    await page.getByLabel("Rate 1 end hour").fill("5.5");
    await page.getByRole("button", { name: "Save tariff and carbon" }).click();
    await expect.poll(() => page.locator("form [role=alert]").innerText()).toMatch(/^tariff: /);
    await screenshot(page, "energy");
  });

  it("runs the capacity planner in a worker for a small fleet", async () => {
    const { page } = h;
    await page.getByRole("link", { name: "Capacity planner" }).click();
    await page.getByLabel("Fleet size (cars)").fill("300");
    // A start the night before the US zones spring forward: the worker works out their offsets.
    await page.getByLabel("Start date (00:00 UTC)").fill("2025-03-08");
    await page.getByRole("button", { name: "Run the simulation" }).click();
    await page.getByTestId("planner-results").waitFor({ timeout: HANG_MS });
    expect(Number(await page.getByTestId("planner-dc-peak").innerText())).toBeGreaterThan(0);
    const results = page.getByTestId("planner-results");
    await expect.poll(async () => (await tickLabels(results)).clipped).toEqual([]);
    expect((await tickLabels(results)).labels.length).toBeGreaterThanOrEqual(8);
    await screenshot(page, "planner");
  });
});

describe("accessibility and layout", () => {
  const PAGES = [
    "/fleet",
    "/cars",
    "/jobs",
    "/jobs/new",
    "/tenants",
    "/energy",
    "/planner",
    "/controls",
  ];

  it("has no serious or critical axe violations on the main pages, light and dark", async () => {
    const { page } = h;
    const found: string[] = [];
    const check = async (label: string) => {
      // axe-core itself, injected into the page (its Playwright wrapper needs Node 22).
      await page.addScriptTag({ path: AXE_SCRIPT });
      const violations = await page.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: { run(context: Document, options: RunOptions): Promise<AxeResults> };
          }
        ).axe;
        const result = await axe.run(document, {
          runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] },
        });
        return result.violations.map((v) => ({
          id: v.id,
          impact: v.impact ?? null,
          help: v.help,
          targets: v.nodes.map((n) => n.target.join(" ")),
        }));
      });
      for (const v of violations) {
        if (v.impact === "serious" || v.impact === "critical") {
          found.push(
            `${label}: ${v.id} (${v.impact}) — ${v.help}: ${v.targets.slice(0, 3).join(", ")}`,
          );
        }
      }
    };
    const carPage = `/cars/${cars[0]!.carId}`;
    for (const path of [...PAGES, carPage]) {
      await page.goto(`${h.console.url}${path}`);
      await pageLoaded(page);
      await check(path);
    }
    await page.emulateMedia({ colorScheme: "dark" });
    for (const path of ["/fleet", "/tenants", "/controls"]) {
      await page.goto(`${h.console.url}${path}`);
      await pageLoaded(page);
      await check(`${path} (dark)`);
      if (path === "/fleet") await screenshot(page, "fleet-dark");
    }
    await page.emulateMedia({ colorScheme: "light" });
    expect(found).toEqual([]);
  });

  it("works at tablet width", async () => {
    const { page } = h;
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(`${h.console.url}/fleet`);
    await pageLoaded(page);
    // Nothing wider than the window: no sideways scrolling of the page itself.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, "fleet-tablet");
    await page.goto(`${h.console.url}/cars`);
    await page.getByTestId("cars-table").waitFor();
    await screenshot(page, "cars-tablet");
    await page.setViewportSize({ width: 1366, height: 900 });
  });
});

describe("security headers", () => {
  it("sends every answer with its policy, which the pages shown above all kept", async () => {
    for (const path of ["/sign-in", "/fleet", "/api/session"]) {
      const res = await fetch(`${h.console.url}${path}`, { redirect: "manual" });
      expect({ path, csp: res.headers.get("content-security-policy") }).toEqual({
        path,
        csp: expect.stringContaining("frame-ancestors 'none'"),
      });
      expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(res.headers.get("content-security-policy")).toContain("object-src 'none'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    }
    // Every page the tests above opened (charts, the planner's worker, image previews, the
    // theme script) ran under the policy without the browser refusing anything.
    expect(h.cspViolations).toEqual([]);
  });
});
