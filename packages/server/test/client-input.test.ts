/**
 * The checks on what clients send (client-input.ts, issue 13): the auth-id
 * bounds, propose-time entry checking, and the failed-attach windows. The
 * fuzzer is the guard's other half: whatever request shape a client makes,
 * checkProposable either refuses it with a typed error, or the entry it
 * lets through decodes on every replica (decodeEntryData, the appliers' own
 * decoder with their limits). Nothing accepted can poison the log.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuthFailedError,
  BadArgumentsError,
  CreateMode,
  DEFAULT_MAX_ENTRY_BYTES,
  ErrorCode,
  LimitExceededError,
  MAX_AUTH_IDS_PER_SESSION,
  OPEN_ACL_UNSAFE,
  CorralCode,
  defaultCodecLimits,
  digestIdentity,
  type ACL,
  type Id,
  type MultiSubOp,
  type RequestTxn,
  type Txn,
  type WriteOp,
} from "@corral/protocol";
import { CorruptEntry, FailureWindows, addAuthIdentity, checkProposable, connectIdentities, decodeEntryData, encodeCheckedEntryData, encodeEntryData, EntryRefused } from "@corral/server";

const limits = defaultCodecLimits;
const request = (op: WriteOp, auth: readonly Id[] = [], extra: Partial<RequestTxn> = {}): RequestTxn => ({ type: "request", sessionId: 7, seq: 1, auth, op, ...extra });
const create = (path: string, data = new Uint8Array(0), acl: readonly ACL[] = OPEN_ACL_UNSAFE, mode: CreateMode = CreateMode.Persistent): WriteOp => ({ type: "create", path, data, acl, mode });
const ids = (count: number): Id[] => Array.from({ length: count }, (_, i) => digestIdentity(`user${i}`, "pw"));

describe("addAuthIdentity / connectIdentities", () => {
  it("adds a digest identity, once: a repeated addAuth returns the same list and never hits the bound", () => {
    const first = addAuthIdentity([], "digest", "alice:pw");
    expect(first).toEqual([digestIdentity("alice", "pw")]);
    let held = first as readonly Id[];
    for (let i = 0; i < 3 * MAX_AUTH_IDS_PER_SESSION; i++) held = addAuthIdentity(held, "digest", "alice:pw") as readonly Id[];
    expect(held).toEqual([digestIdentity("alice", "pw")]);
  });

  it("refuses the 17th distinct identity with LimitExceeded and keeps the 16", () => {
    let held: readonly Id[] = [];
    for (let i = 0; i < MAX_AUTH_IDS_PER_SESSION; i++) {
      const next = addAuthIdentity(held, "digest", `user${i}:pw`);
      expect(Array.isArray(next)).toBe(true);
      held = next as readonly Id[];
    }
    expect(held).toHaveLength(16);
    const refused = addAuthIdentity(held, "digest", "one-more:pw");
    expect(refused).toBeInstanceOf(LimitExceededError);
    expect((refused as LimitExceededError).code).toBe(CorralCode.LimitExceeded);
    // The bound counts distinct identities: one already held still answers with the list.
    expect(addAuthIdentity(held, "digest", "user3:pw")).toBe(held);
  });

  it("refuses a user name whose digest id would be longer than the entry codec accepts (the issue's crash) with LimitExceeded", () => {
    const refused = addAuthIdentity([], "digest", `${"u".repeat(1000)}:pw`);
    expect(refused).toBeInstanceOf(LimitExceededError);
    // The longest user name that fits is accepted, and its id decodes (maxIdLength = user + ":" + 28-char hash).
    const longest = limits.maxIdLength - 1 - 28;
    const accepted = addAuthIdentity([], "digest", `${"u".repeat(longest)}:pw`) as Id[];
    expect(accepted[0]!.id.length).toBe(limits.maxIdLength);
    expect(checkProposable(request(create("/a"), accepted), DEFAULT_MAX_ENTRY_BYTES)).toBeUndefined();
    expect(addAuthIdentity([], "digest", `${"u".repeat(longest + 1)}:pw`)).toBeInstanceOf(LimitExceededError);
    // Over-long credentials (the password part) are refused too.
    expect(addAuthIdentity([], "digest", `u:${"p".repeat(2000)}`)).toBeInstanceOf(LimitExceededError);
  });

  it("refuses what is not digest user:password with AuthFailed", () => {
    for (const [scheme, credentials] of [
      ["ip", "10.0.0.1"],
      ["digest", "no-colon"],
      ["digest", ":pw"],
      ["digest", ""],
      ["super", "x:y"],
    ] as const) {
      const refused = addAuthIdentity([], scheme, credentials);
      expect(refused, `${scheme} ${credentials}`).toBeInstanceOf(AuthFailedError);
      expect((refused as AuthFailedError).code).toBe(ErrorCode.AuthFailed);
    }
  });

  it("connectIdentities applies the same rules to a connect's credentials", () => {
    expect(connectIdentities([{ scheme: "digest", credentials: "a:1" }, { scheme: "digest", credentials: "a:1" }, { scheme: "digest", credentials: "b:2" }])).toEqual([
      digestIdentity("a", "1"),
      digestIdentity("b", "2"),
    ]);
    const many = Array.from({ length: 17 }, (_, i) => ({ scheme: "digest", credentials: `u${i}:pw` }));
    expect(connectIdentities(many)).toBeInstanceOf(LimitExceededError);
    expect(connectIdentities([{ scheme: "digest", credentials: `${"u".repeat(1000)}:pw` }])).toBeInstanceOf(LimitExceededError);
    expect(connectIdentities([{ scheme: "ip", credentials: "x" }])).toBeInstanceOf(AuthFailedError);
  });
});

describe("checkProposable", () => {
  const ok = (txn: Txn, maxEntryBytes = DEFAULT_MAX_ENTRY_BYTES): void => expect(checkProposable(txn, maxEntryBytes)).toBeUndefined();
  const limited = (txn: Txn, maxEntryBytes = DEFAULT_MAX_ENTRY_BYTES): void => {
    const refused = checkProposable(txn, maxEntryBytes);
    expect(refused).toBeInstanceOf(LimitExceededError);
  };
  const malformed = (txn: Txn): void => {
    const refused = checkProposable(txn, DEFAULT_MAX_ENTRY_BYTES);
    expect(refused).toBeInstanceOf(BadArgumentsError);
  };

  it("accepts ordinary writes", () => {
    ok(request(create("/a", new Uint8Array(100))));
    ok(request({ type: "setData", path: "/a", data: new Uint8Array(limits.maxDataBytes), version: -1 }));
    ok(request({ type: "delete", path: "/a", version: 3 }, ids(16)));
  });

  it("over-limit data, path, ACL, auth ids, multi: LimitExceeded, with the path named (bounded)", () => {
    limited(request({ type: "setData", path: "/a", data: new Uint8Array(limits.maxDataBytes + 1), version: -1 }));
    const longPath = `/${"p".repeat(limits.maxPathLength)}`;
    const refused = checkProposable(request(create(longPath)), DEFAULT_MAX_ENTRY_BYTES);
    expect(refused).toBeInstanceOf(LimitExceededError);
    expect(refused!.path!.length).toBeLessThanOrEqual(203);
    limited(request(create("/a", new Uint8Array(0), Array.from({ length: limits.maxAclEntries + 1 }, () => OPEN_ACL_UNSAFE[0]!))));
    limited(request(create("/a", new Uint8Array(0), [{ perms: 31, id: { scheme: "digest", id: "x".repeat(limits.maxIdLength + 1) } }])));
    // Auth ids are fixed by the node, but the entry carries them: too many, or one too long, and nothing is proposed.
    limited(request(create("/a"), ids(limits.maxAuthIds + 1)));
    limited(request(create("/a"), [{ scheme: "digest", id: "u".repeat(limits.maxIdLength + 1) }]));
    const subOps: MultiSubOp[] = Array.from({ length: limits.maxMultiOps + 1 }, () => ({ type: "check", path: "/a", version: -1 }));
    limited(request({ type: "multi", ops: subOps }));
    // Each piece within its limit, but the whole entry larger than maxEntryBytes.
    limited(request({ type: "setData", path: "/a", data: new Uint8Array(10_000), version: -1 }), 4_096);
  });

  it("malformed values the codec refuses: BadArguments", () => {
    malformed(request(create("/a", new Uint8Array(0), OPEN_ACL_UNSAFE, 9 as CreateMode)));
    malformed(request({ type: "delete", path: "/a", version: 2 ** 40 }));
    malformed(request(create("/a", new Uint8Array(0), [{ perms: 2 ** 33, id: { scheme: "world", id: "anyone" } }])));
    malformed(request({ type: "setData", path: "/a", data: new Uint8Array(0), version: 1.5 }));
    malformed(request(create("/a"), [], { seq: 0 }));
    malformed(request({ type: "multi", ops: [{ type: "setACL", path: "/a", acl: OPEN_ACL_UNSAFE, version: -1 } as unknown as MultiSubOp] }));
  });

  it("the propose-time check and a replica's decode agree: accepted bytes decode, refused ones do not", () => {
    const txn = request(create("/a"), [{ scheme: "digest", id: "u".repeat(limits.maxIdLength + 1) }]);
    const refused = encodeCheckedEntryData({ timeMs: 1, txn }, DEFAULT_MAX_ENTRY_BYTES);
    expect(refused).toBeInstanceOf(EntryRefused);
    expect((refused as EntryRefused).overLimit).toBe(true);
    // What would have happened without the check: every replica fails to decode the committed entry.
    expect(decodeEntryData(encodeEntryData({ timeMs: 1, txn }))).toBeInstanceOf(CorruptEntry);
    const fine = encodeCheckedEntryData({ timeMs: 1, txn: request(create("/a"), ids(2)) }, DEFAULT_MAX_ENTRY_BYTES);
    expect(fine).toBeInstanceOf(Uint8Array);
    expect(decodeEntryData(fine as Uint8Array)).not.toBeInstanceOf(CorruptEntry);
  });
});

// ------------------------------------------------------------------ fuzzer --

/** A length near one of the codec's boundaries, or a small one: the interesting sizes. */
const lengthNear = (limit: number): fc.Arbitrary<number> => fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: Math.max(0, limit - 2), max: limit + 2 }));
const stringNear = (limit: number): fc.Arbitrary<string> =>
  fc.tuple(lengthNear(limit), fc.constantFrom("a", "é", "\u{1F600}", "\ud800", "/", "\u0000")).map(([length, unit]) => unit.repeat(Math.max(0, Math.ceil(length / unit.length))).slice(0, length));
const int = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 0 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 0.5, Number.NaN, Number.POSITIVE_INFINITY) },
);
const idArb: fc.Arbitrary<Id> = fc.record({ scheme: fc.oneof(fc.constantFrom("digest", "world", "ip", "auth"), stringNear(64)), id: stringNear(limits.maxIdLength) });
const aclArb: fc.Arbitrary<ACL[]> = fc.oneof(
  fc.array(fc.record({ perms: int, id: idArb }), { maxLength: 4 }),
  fc.integer({ min: limits.maxAclEntries - 1, max: limits.maxAclEntries + 1 }).map((count) => Array.from({ length: count }, () => OPEN_ACL_UNSAFE[0]!)),
);
const dataArb: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 16 }), lengthNear(limits.maxDataBytes).map((length) => new Uint8Array(length)));
const pathArb = stringNear(limits.maxPathLength);
const modeArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...Object.values(CreateMode)) }, { weight: 1, arbitrary: int as fc.Arbitrary<CreateMode> });
const createArb = fc.record({ type: fc.constant("create" as const), path: pathArb, data: dataArb, acl: aclArb, mode: modeArb }).chain((op) =>
  fc.option(int, { nil: undefined }).map((ttlMs) => (ttlMs === undefined ? op : { ...op, ttlMs })),
);
const deleteArb = fc.record({ type: fc.constant("delete" as const), path: pathArb, version: int });
const setDataArb = fc.record({ type: fc.constant("setData" as const), path: pathArb, data: dataArb, version: int });
const checkArb = fc.record({ type: fc.constant("check" as const), path: pathArb, version: int });
const subOpArb = fc.oneof(createArb, deleteArb, setDataArb, checkArb) as fc.Arbitrary<MultiSubOp>;
const multiArb = fc.oneof(
  fc.record({ type: fc.constant("multi" as const), ops: fc.array(subOpArb, { maxLength: 3 }) }),
  fc.integer({ min: limits.maxMultiOps - 1, max: limits.maxMultiOps + 1 }).map((count) => ({ type: "multi" as const, ops: Array.from({ length: count }, (): MultiSubOp => ({ type: "check", path: "/x", version: -1 })) })),
);
const writeOpArb: fc.Arbitrary<WriteOp> = fc.oneof(
  createArb,
  deleteArb,
  setDataArb,
  fc.record({ type: fc.constant("setACL" as const), path: pathArb, acl: aclArb, version: int }),
  multiArb,
) as fc.Arbitrary<WriteOp>;
const authArb: fc.Arbitrary<Id[]> = fc.oneof(fc.array(idArb, { maxLength: 3 }), fc.integer({ min: limits.maxAuthIds - 1, max: limits.maxAuthIds + 1 }).map(ids));
const txnArb: fc.Arbitrary<Txn> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant("request" as const), sessionId: int, seq: int, auth: authArb, op: writeOpArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("createSession" as const), sessionId: int, timeoutMs: int, secretHash: stringNear(limits.maxSecretLength) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("closeSession" as const), sessionId: int, reason: fc.constantFrom("closed" as const, "expired" as const, "bogus" as "closed") }) },
) as fc.Arbitrary<Txn>;

/** The guard's property for a propose-time checker: what it accepts decodes on a replica; what it refuses, a replica would refuse too. */
const soundAndTight = (checker: (txn: Txn, maxEntryBytes: number) => Error | undefined, counts = { accepted: 0, refused: 0 }) =>
  fc.property(txnArb, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.option(fc.tuple(fc.string({ maxLength: 40 }), fc.nat()), { nil: undefined }), (txn, timeMs, origin) => {
    const verdict = checker(txn, DEFAULT_MAX_ENTRY_BYTES);
    const decoded = decodeEntryData(encodeEntryData(origin === undefined ? { timeMs, txn } : { timeMs, txn, origin }));
    if (verdict === undefined) {
      counts.accepted++;
      // Nothing accepted can poison the log.
      expect(decoded).not.toBeInstanceOf(CorruptEntry);
      return;
    }
    counts.refused++;
    expect(verdict instanceof LimitExceededError || verdict instanceof BadArgumentsError).toBe(true);
    // Refused only for a reason a replica (or the entry size bound) would have had too.
    const tooLarge = encodeEntryData({ timeMs: Number.MAX_SAFE_INTEGER, txn }).byteLength > DEFAULT_MAX_ENTRY_BYTES;
    expect(decoded instanceof CorruptEntry || tooLarge).toBe(true);
    if (decoded instanceof CorruptEntry && !tooLarge) expect(verdict instanceof LimitExceededError).toBe(decoded.overLimit);
  });

describe("checkProposable fuzzer over request shapes", () => {
  it("every txn it accepts decodes on a replica (any leader time, with or without an origin); every refusal is typed and matches the codec", () => {
    const counts = { accepted: 0, refused: 0 };
    fc.assert(soundAndTight(checkProposable, counts), { numRuns: 600, seed: 1313 });
    // The generator reaches both sides of the boundaries.
    expect(counts.accepted).toBeGreaterThan(100);
    expect(counts.refused).toBeGreaterThan(100);
  });

  it("the same fuzzer catches a checker that only bounds the entry size (the pre-issue-13 state)", () => {
    const sizeOnly = (txn: Txn, maxEntryBytes: number): Error | undefined => (encodeEntryData({ timeMs: 0, txn }).byteLength > maxEntryBytes ? new LimitExceededError() : undefined);
    const outcome = fc.check(soundAndTight(sizeOnly), { numRuns: 600, seed: 1313 });
    expect(outcome.failed).toBe(true);
  });
});

describe("FailureWindows", () => {
  it("is exhausted after maxFailures in a window, and forgets the window once it expires", () => {
    const windows = new FailureWindows(3, 1_000, 100);
    expect(windows.exhausted("s1", 0)).toBe(false);
    windows.record("s1", 0);
    windows.record("s1", 10);
    expect(windows.exhausted("s1", 20)).toBe(false);
    windows.record("s1", 20);
    expect(windows.exhausted("s1", 30)).toBe(true);
    expect(windows.exhausted("s2", 30)).toBe(false);
    // The window started at 0: at 999 still exhausted, at 1000 a fresh start.
    expect(windows.exhausted("s1", 999)).toBe(true);
    expect(windows.exhausted("s1", 1_000)).toBe(false);
    windows.record("s1", 1_000);
    expect(windows.exhausted("s1", 1_001)).toBe(false);
  });

  it("tracks at most maxKeys keys, forgetting the oldest first, whatever a client sends", () => {
    const windows = new FailureWindows(1, 60_000, 50);
    for (let i = 0; i < 10_000; i++) windows.record(`endpoint-${i}`, i);
    expect(windows.size).toBe(50);
    expect(windows.exhausted("endpoint-9999", 10_000)).toBe(true);
    expect(windows.exhausted("endpoint-0", 10_000)).toBe(false);
  });
});
