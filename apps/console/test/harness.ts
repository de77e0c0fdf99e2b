// What every console test needs: a real `nightshift serve` (embedded PostgreSQL, demo data), the
// console's production build on a free port, and a headless Chromium.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_API_CONFIG } from "@nightshift/api/config";
import { recordFleetSample } from "@nightshift/api/services/history";
import { stateOf } from "@nightshift/api/state";
import { launchChromium } from "@nightshift/browser/chromium";
import { createDb, createPool } from "@nightshift/db/client";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import {
  PARKED,
  parseDemo,
  type ServeProcess,
  spawnServe,
  tempDir,
} from "@nightshift/server-testkit/serve";
import { HANG_MS } from "@nightshift/testkit/waits";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CONSOLE_DIR, type RunningConsole, startConsole } from "../src/serve";

export { PARKED };
export const SCREENSHOTS = join(CONSOLE_DIR, "test-results");

export interface Harness {
  server: ServeProcess;
  console: RunningConsole;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  demo: ReturnType<typeof parseDemo>;
  /** What the browser refused to load or run under the console's Content-Security-Policy. */
  cspViolations: string[];
  /**
   * Records this minute's fleet sample in the server's database now, with the function the
   * server's own once-a-minute sampler calls, so a test need not wait for it.
   */
  recordFleetSample(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const data = tempDir("nightshift-console-");
  const server = await spawnServe([
    "--port",
    "0",
    "--data",
    data,
    "--demo",
    "--print-database-url",
  ]);
  const demo = parseDemo(server.banner);
  if (!server.databaseUrl) throw new Error("serve did not print its database URL");
  const pool = createPool(server.databaseUrl, { max: 1 });
  const deps = { db: createDb(pool), now: () => new Date(), config: DEFAULT_API_CONFIG };
  const running = await startConsole({ port: 0, serverUrl: server.url });
  const browser = await launchChromium({ webgpu: false });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  // Playwright's waits are hang guards: a busy machine may take its time loading a page.
  context.setDefaultTimeout(HANG_MS);
  const page = await context.newPage();
  // What went wrong in the page shows in the test's output.
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  const cspViolations: string[] = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    console.error(`page console: ${m.text()} (${m.location().url})`);
    // Chromium reports each thing a page's policy stopped as an error on the console.
    if (m.text().includes("Content Security Policy")) cspViolations.push(m.text());
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    server,
    console: running,
    browser,
    context,
    page,
    demo,
    cspViolations,
    async recordFleetSample() {
      await recordFleetSample(deps, stateOf(deps));
    },
    async stop() {
      await browser.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await running.close().catch(() => undefined);
      await server.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Enrolls `n` cars with the demo fleet's code and reports each parked and plugged in. */
export async function parkCars(
  h: Pick<Harness, "server" | "demo">,
  n: number,
): Promise<{ carId: string; client: NightshiftClient }[]> {
  const cars = [];
  const serverUrl = h.server.url;
  for (let i = 0; i < n; i++) {
    const enrolled = await createNightshiftClient({ url: serverUrl }).node.enroll.mutate({
      code: h.demo.enrollmentCode,
    });
    const client = createNightshiftClient({ url: serverUrl, credential: enrolled.credential });
    await client.node.heartbeat.mutate(PARKED);
    cars.push({ carId: enrolled.carId, client });
  }
  return cars;
}

/**
 * Waits until the page in view has its data: its heading is there and no query is still loading
 * (the console draws a `.skeleton` for each query without data yet).
 */
export async function pageLoaded(page: Page): Promise<void> {
  await page.locator("main h1").waitFor();
  await page.waitForFunction(() => document.querySelector("main .skeleton") === null);
}

/** The whole page as a PNG under test-results/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  // A full-page capture scrolls: a sticky nav would be drawn where the scroll left it.
  const unstick = await page.addStyleTag({ content: ".nav { position: static !important; }" });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  await unstick.evaluate((el) => (el as Element).remove());
}

export async function signIn(
  page: Page,
  baseUrl: string,
  email: string,
  password: string,
): Promise<void> {
  await page.goto(`${baseUrl}/fleet`);
  await page.waitForURL(/\/sign-in/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/fleet$/);
}
