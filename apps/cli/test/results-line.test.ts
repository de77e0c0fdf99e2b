// What `nightshift jobs results` prints for each task: what the output means, not only numbers.
import { describe, expect, it } from "vitest";
import { resultLine } from "../src/commands/jobs";

const base = { seq: 3, status: "valid", error: null };

describe("jobs results lines", () => {
  it("give a text line's direction and confidence", () => {
    const item = {
      ...base,
      output: [0.01, 0.99],
      interpretation: { kind: "direction", label: "180", angle: 180, confidence: 0.99 },
    };
    expect(resultLine(item, false)).toEqual({
      seq: 3,
      status: "valid",
      label: "180",
      angle: 180,
      confidence: 0.99,
    });
    expect(resultLine(item, true)).toMatchObject({ angle: 180, output: [0.01, 0.99] });
  });

  it("give a page's text boxes", () => {
    const boxes = [{ x: 1, y: 2, width: 30, height: 8, score: 0.9 }];
    const item = {
      ...base,
      output: new Array(16).fill(0),
      interpretation: { kind: "boxes", boxes },
    };
    expect(resultLine(item, false)).toEqual({ seq: 3, status: "valid", boxes });
  });

  it("give the numbers of a plain tensor model", () => {
    const item = {
      ...base,
      output: [1, 2, 3, 4],
      interpretation: { kind: "tensor", values: 4, preview: [1, 2, 3, 4] },
    };
    expect(resultLine(item, false)).toEqual({ seq: 3, status: "valid", output: [1, 2, 3, 4] });
  });

  it("give the reason a task failed, and nothing for one not done", () => {
    const failed = {
      seq: 0,
      status: "failed",
      output: null,
      interpretation: null,
      error: "bad input",
    };
    expect(resultLine(failed, false)).toEqual({ seq: 0, status: "failed", error: "bad input" });
    const open = { seq: 1, status: "open", output: null, interpretation: null, error: null };
    expect(resultLine(open, false)).toEqual({ seq: 1, status: "open" });
    expect(resultLine(open, true)).toEqual({ seq: 1, status: "open", output: null });
  });
});
