// The console end to end: its production build in Chromium, against a real server with the demo
// data. One server and one browser for the whole file; the steps build on each other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, parkCars, screenshot, signIn, startHarness } from "./harness";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

async function statNumber(testId: string): Promise<number> {
  const text = await h.page.getByTestId(testId).innerText();
  return Number(text.replace(/[^0-9.]/g, ""));
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
    await parkCars(h.server.url, 3);
    await expect.poll(() => statNumber("stat-total"), { timeout: 20_000 }).toBe(before + 3);
    await expect.poll(() => statNumber("stat-parked"), { timeout: 20_000 }).toBe(parkedBefore + 3);
    // A few samples for the chart.
    await h.page.waitForTimeout(5_000);
    await screenshot(h.page, "fleet");
  });
});
