// The Fleet page's line of reasons: the most common first with their counts, in plain words.
import { describe, expect, it } from "vitest";
import { topRefusals } from "~/lib/refusals";

describe("refusals in words", () => {
  it("lists the top reasons with their counts, then the rest together", () => {
    expect(
      topRefusals([
        { reason: "driving", cars: 31 },
        { reason: "departs-too-soon", cars: 8 },
        { reason: "low-energy", cars: 4 },
      ]),
    ).toBe("31 driving · 8 leaving soon · 4 too close to the owner's reserve");
    const many = topRefusals(
      [
        { reason: "driving", cars: 3100 },
        { reason: "no-heartbeat", cars: 800 },
        { reason: "departs-too-soon", cars: 400 },
        { reason: "quarantined", cars: 20 },
        { reason: "opted-out", cars: 7 },
        { reason: "battery-hot", cars: 2 },
      ],
      4,
      (n) => n.toLocaleString("en-US"),
    );
    expect(many).toBe(
      "3,100 driving · 800 offline · 400 leaving soon · 20 quarantined · 9 for other reasons",
    );
    // One reason past the top is named rather than summed up.
    expect(
      topRefusals(
        ["driving", "no-heartbeat", "quarantined", "opted-out", "battery-hot"].map((reason, i) => ({
          reason: reason as "driving",
          cars: 5 - i,
        })),
      ),
    ).toBe("5 driving · 4 offline · 3 quarantined · 2 opted out by the owner · 1 battery too hot");
    expect(topRefusals([])).toBe("");
  });
});
