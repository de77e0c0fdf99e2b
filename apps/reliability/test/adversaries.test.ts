// Strangers beside honest cars and tenants, over two instances (src/adversaries.ts): no wrong
// answer accepted, no honest car quarantined, nothing paid above the server's own estimate, no
// 5xx answer, and the honest tenants' tasks decided but for what the hoarders may hold. Every
// broken claim is listed at once. (What verification costs once the fleet has built trust is a
// figure here, held to its target at --long: the CI fleet's cars do not live long enough.)
import { expect, it } from "vitest";
import { adversaries, ADVERSARIES_CI, brokenClaims } from "../src/adversaries";
import { runAndReport } from "./figures";

it("strangers get no wrong answer accepted, no honest car quarantined and no pay they made up", async () => {
  const f = await runAndReport("adversaries", () => adversaries(ADVERSARIES_CI));
  expect(f.tasks).toBeGreaterThanOrEqual(ADVERSARIES_CI.tasks);
  expect(brokenClaims(f, ADVERSARIES_CI)).toEqual([]);
});
