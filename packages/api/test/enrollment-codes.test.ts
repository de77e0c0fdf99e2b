// Enrollment codes over HTTP: whose owner a code makes a car (one an operator vouched for, or a
// stranger), which codes enroll nobody (revoked, expired, used up) and why, the operator's calls
// that make, list and revoke them, and the demo seed's two codes.
import { enrollmentCodes } from "@nightshift/db/schema";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/crypto";
import { DEMO_PUBLIC_CODE, seedDemo } from "../src/seed";
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
    const ours = events.items.filter((e) => [ann.id, pub.id].includes(e.subjectId));
    expect(ours.map((e) => [e.action, e.subjectId])).toEqual([
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

  it("seeds the demo's public code bounded and a fleet code whose owners are vouched for, once", async () => {
    const h = await setup(database.get());
    expect(h.seed.publicCode).toBe(DEMO_PUBLIC_CODE);
    const codes = (await h.operator.operator.enrollmentCodes.list.query({})).items;
    const publicRow = codes.find((c) => c.id === sha256Hex(DEMO_PUBLIC_CODE));
    const fleetRow = codes.find((c) => c.id === sha256Hex(h.seed.enrollmentCode));
    expect(publicRow).toMatchObject({ public: true, usesLeft: 10_000, createdBy: null });
    const lifetimeS = (Date.parse(publicRow!.expiresAt!) - Date.parse(publicRow!.createdAt)) / 1000;
    expect(lifetimeS).toBe(30 * 24 * 3600);
    expect(fleetRow).toMatchObject({ public: false, expiresAt: null, ownerId: null });
    expect(fleetRow!.createdBy).toEqual(expect.any(String));

    const stranger = await h.enrollCar({ code: DEMO_PUBLIC_CODE });
    const fleet = [await h.enrollCar(), await h.enrollCar()];
    expect(await vouched(h, [stranger.ownerId, ...fleet.map((c) => c.ownerId)])).toEqual([
      false,
      true,
      true,
    ]);

    // Seeding again makes no code, gives no use back and keeps a revoked public code revoked.
    await h.operator.operator.enrollmentCodes.revoke.mutate({ id: publicRow!.id });
    const again = await seedDemo(h.t.db);
    expect(again).toMatchObject({ enrollmentCode: null, publicCode: DEMO_PUBLIC_CODE });
    expect((await h.operator.operator.enrollmentCodes.list.query({})).items).toHaveLength(
      codes.length,
    );
    expect((await failure(h.enrollCar({ code: DEMO_PUBLIC_CODE }))).code).toBe("FORBIDDEN");
  });

  it("bounds the unbounded demo code of an earlier release when it seeds", async () => {
    const h = await setup(database.get());
    const hash = sha256Hex(DEMO_PUBLIC_CODE);
    // As migration 0003 leaves it: public, uses capped, no expiry.
    await h.t.db
      .update(enrollmentCodes)
      .set({ usesLeft: 7, expiresAt: null })
      .where(eq(enrollmentCodes.codeHash, hash));
    const seededAt = new Date(Date.parse("2030-01-01T00:00:00Z"));
    await seedDemo(h.t.db, { now: seededAt });
    const [row] = await h.t.db
      .select()
      .from(enrollmentCodes)
      .where(eq(enrollmentCodes.codeHash, hash));
    expect(row).toMatchObject({ public: true, usesLeft: 7, revokedAt: null });
    expect(row!.expiresAt!.toISOString()).toBe("2030-01-31T00:00:00.000Z");
  });
});
