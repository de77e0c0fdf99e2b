import { describe, expect, it } from "vitest";
import {
  INITIAL_STATUS,
  STATUSES,
  TRANSITIONS,
  canTransition,
  isFinal,
  transitionEvents,
  transitionOf,
  type StatusKind,
} from "../src/status";

const KINDS = Object.keys(TRANSITIONS) as StatusKind[];

describe("status transitions", () => {
  it("names only statuses of its own kind, and each event once", () => {
    for (const kind of KINDS) {
      const statuses = STATUSES[kind] as readonly string[];
      const events = TRANSITIONS[kind].map((t) => t.event);
      expect(new Set(events).size).toBe(events.length);
      for (const t of TRANSITIONS[kind]) {
        expect(statuses).toContain(t.to);
        for (const f of t.from) expect(statuses).toContain(f);
      }
      expect(statuses).toContain(INITIAL_STATUS[kind]);
    }
  });

  it("reaches every status from where a row starts", () => {
    for (const kind of KINDS) {
      const reached = new Set<string>([INITIAL_STATUS[kind]]);
      for (let grew = true; grew;) {
        grew = false;
        for (const t of TRANSITIONS[kind]) {
          if (t.from.some((f) => reached.has(f)) && !reached.has(t.to)) {
            reached.add(t.to);
            grew = true;
          }
        }
      }
      expect([...reached].sort()).toEqual([...STATUSES[kind]].sort());
    }
  });

  it("allows what the services do and refuses the rest", () => {
    expect(transitionEvents("task", "verifying", "valid")).toEqual(["validated"]);
    expect(canTransition("task", "valid", "open")).toBe(true);
    expect(canTransition("task", "valid", "failed")).toBe(false);
    expect(canTransition("task", "cancelled", "open")).toBe(false);
    expect(canTransition("unit", "done", "open")).toBe(false);
    expect(canTransition("unit", "leased", "open")).toBe(true);
    expect(canTransition("lease", "active", "preempted")).toBe(true);
    expect(canTransition("lease", "preempted", "active")).toBe(false);
    expect(canTransition("lease", "submitted", "expired")).toBe(false);
    expect(canTransition("job", "cancelled", "running")).toBe(false);
    expect(canTransition("job", "completed", "running")).toBe(true);
    // Staying put is no change.
    expect(canTransition("job", "cancelled", "cancelled")).toBe(true);
  });

  it("ends a lease once, whichever way", () => {
    for (const s of STATUSES.lease) expect(isFinal("lease", s)).toBe(s !== "active");
    expect(isFinal("unit", "done")).toBe(true);
    expect(isFinal("task", "cancelled")).toBe(true);
    // A recheck may reopen a valid task and run its job again.
    expect(isFinal("task", "valid")).toBe(false);
    expect(isFinal("job", "completed")).toBe(false);
    expect(isFinal("job", "cancelled")).toBe(true);
  });

  it("gives each event's transition, and refuses an unknown event", () => {
    expect(transitionOf("unit", "returned")).toEqual({
      event: "returned",
      from: ["leased"],
      to: "open",
    });
    expect(transitionEvents("unit", "open", "cancelled")).toEqual(["dropped"]);
    expect(() => transitionOf("unit", "nope" as never)).toThrow(RangeError);
  });
});
