// Enrollment codes over HTTP: whose owner a code makes a car (one an operator vouched for, or a
// stranger), which codes enroll nobody (revoked, expired, used up) and why, and the operator's
// calls that make, list and revoke them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure, type Harness, setup, testDatabase } from "./harness";

const database = testDatabase();
beforeAll(database.start);
afterAll(database.stop);

async function vouched(h: Harness, ownerIds: string[]): Promise<boolean[]> {
  const { rows } = await h.t.pool.query<{ id: string; vouched: boolean }>(
    "SELECT id, vouched FROM owners WHERE id = ANY($1)",
    [ownerIds],
  );
  return ownerIds.map((id) => rows.find((r) => r.id === id)!.vouched);
}

describe("enrollment codes", () => {
  it("makes a stranger of every car enrolled with a public code; an operator's other codes make owners it vouches for", async () => {
    const h = await setup(database.get());
    const pub = await h.operator.operator.enrollmentCodes.create.mutate({ public: true, uses: 3 });
    expect(pub).toMatchObject({ public: true, ownerId: null, usesLeft: 3 });
    const a = await h.enrollCar({ code: pub.code });
    const b = await h.enrollCar({ code: pub.code });
    expect(a.ownerId).not.toBe(b.ownerId);

    const perCar = await h.operator.operator.enrollmentCodes.create.mutate({ uses: 2 });
    expect(perCar.public).toBe(false);
    const c = await h.enrollCar({ code: perCar.code });
    const named = await h.operator.operator.enrollmentCodes.create.mutate({ ownerName: "Ann" });
    const d = await h.enrollCar({ code: named.code });
    expect(d.ownerId).toBe(named.ownerId);

    expect(await vouched(h, [a.ownerId, b.ownerId, c.ownerId, d.ownerId])).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  it("refuses a public code that names an owner, or more uses than a public code may have", async () => {
    const h = await setup(database.get());
    const before = await h.counts();
    const codes = h.operator.operator.enrollmentCodes;
    expect(await failure(codes.create.mutate({ public: true, ownerName: "Ann" }))).toMatchObject({
      code: "BAD_REQUEST",
      issues: [{ path: "ownerName", message: expect.stringMatching(/public code/) }],
    });
    const { ownerId } = await codes.create.mutate({ ownerName: "Ann" });
    const before2 = await h.counts();
    expect((await failure(codes.create.mutate({ public: true, ownerId: ownerId! }))).code).toBe(
      "BAD_REQUEST",
    );
    expect(
      (await failure(codes.create.mutate({ public: true, uses: 10_001 }))).issues?.[0]?.path,
    ).toBe("uses");
    // Refused calls wrote nothing (the one code made between them wrote its rows).
    expect(before2.enrollment_codes).toBe(before.enrollment_codes! + 1);
    expect(await h.counts()).toEqual(before2);
    await codes.create.mutate({ public: true, uses: 10_000, expiresInS: 3600 });
  });

  it("enrolls nobody with a revoked, expired or used-up code, and says which", async () => {
    const h = await setup(database.get());
    const codes = h.operator.operator.enrollmentCodes;
    const once = await codes.create.mutate({ uses: 1 });
    const soon = await codes.create.mutate({ uses: 5, expiresInS: 60 });
    const revoked = await codes.create.mutate({ uses: 5 });
    await h.enrollCar({ code: once.code });
    expect(await codes.revoke.mutate({ id: revoked.id })).toEqual({ revoked: true });
    h.clock.advance(61);

    const before = await h.counts();
    const refusal = async (code: string) => {
      const f = await failure(h.anonymous.node.enroll.mutate({ code }));
      return [f.code, f.message];
    };
    expect(await refusal(once.code)).toEqual(["FORBIDDEN", "code: this code has no uses left"]);
    expect(await refusal(soon.code)).toEqual([
      "FORBIDDEN",
      `code: this code expired at ${soon.expiresAt}`,
    ]);
    expect(await refusal(revoked.code)).toEqual(["FORBIDDEN", "code: this code was revoked"]);
    expect(await refusal("NS-no-such-code")).toEqual(["NOT_FOUND", "code: not found"]);
    expect(await h.counts()).toEqual(before);
  });

  it("lets an operator list codes and revoke one by its id, audited; the cars it enrolled stay", async () => {
    const h = await setup(database.get());
    const codes = h.operator.operator.enrollmentCodes;
    const ann = await codes.create.mutate({ ownerName: "Ann", uses: 3, regionId: "us-west" });
    const pub = await codes.create.mutate({ public: true, uses: 10, expiresInS: 3600 });
    const car = await h.enrollCar({ code: ann.code });

    const listed = await codes.list.query({});
    const annRow = listed.items.find((c) => c.id === ann.id);
    expect(annRow).toMatchObject({
      ownerId: ann.ownerId,
      ownerName: "Ann",
      regionId: "us-west",
      public: false,
      usesLeft: 2,
      expiresAt: null,
      revokedAt: null,
    });
    expect(listed.items.find((c) => c.id === pub.id)).toMatchObject({
      public: true,
      usesLeft: 10,
      expiresAt: pub.expiresAt,
    });
    // The list never shows a code itself: the server keeps only its hash, which is its id.
    expect(JSON.stringify(listed)).not.toContain(ann.code);
    expect((await codes.list.query({ ownerId: ann.ownerId! })).items.map((c) => c.id)).toEqual([
      ann.id,
    ]);

    expect(await codes.revoke.mutate({ id: ann.id })).toEqual({ revoked: true });
    expect(await codes.revoke.mutate({ id: ann.id })).toEqual({ revoked: false });
    expect((await failure(codes.revoke.mutate({ id: "0".repeat(64) }))).code).toBe("NOT_FOUND");
    expect((await failure(codes.revoke.mutate({ id: "not-an-id" }))).code).toBe("BAD_REQUEST");

    const after = await codes.list.query({ usable: true });
    expect(after.items.map((c) => c.id)).not.toContain(ann.id);
    expect(after.items.map((c) => c.id)).toContain(pub.id);
    expect((await codes.list.query({})).items.find((c) => c.id === ann.id)?.revokedAt).toEqual(
      expect.any(String),
    );
    // The car enrolled before keeps working.
    await car.park();

    const events = await h.operator.operator.audit.list.query({ subjectKind: "enrollmentCode" });
    expect(events.items.map((e) => [e.action, e.subjectId])).toEqual([
      ["enrollmentCodes.revoke", ann.id],
      ["enrollmentCodes.create", pub.id],
      ["enrollmentCodes.create", ann.id],
    ]);
    expect(JSON.stringify(events)).not.toContain(ann.code);
  });

  it("pages the list newest first", async () => {
    const h = await setup(database.get());
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.push((await h.operator.operator.enrollmentCodes.create.mutate({})).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.operator.operator.enrollmentCodes.list.query({
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.filter((id) => made.includes(id))).toEqual([...made].reverse());
    expect(
      (await failure(h.operator.operator.enrollmentCodes.list.query({ cursor: "bm90LW91cnM" })))
        .code,
    ).toBe("BAD_REQUEST");
  });
});
