import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CorralCode,
  ErrorCode,
  JuteError,
  ZK_CONTAINER_EPHEMERAL_OWNER,
  ZK_ERROR_CODES,
  corralErrorToZk,
  corralMultiReadToZk,
  corralOpToZkRequest,
  corralResultToZk,
  corralStatToZk,
  corralToZkErrorTable,
  corralWatchEventToZk,
  corralWhoAmIToZk,
  decodeClientPacket,
  decodeServerReply,
  encodeClientRequest,
  encodeServerReply,
  isZkErrorCode,
  secretToZkPassword,
  zkErrorToCorral,
  zkPasswordToSecret,
  zkReplyToCorral,
  zkRequestToCorral,
  zkStatToCorral,
  zkSessionIdToNumber,
  type ClientOp,
  type CreateMode,
  type MultiSubOp,
  type Stat,
  type ZkRequest,
} from "../src/index.js";

const stat: Stat = { czxid: 1, mzxid: 2, pzxid: 3, ctime: 4, mtime: 5, version: 6, cversion: 7, aversion: 8, ephemeralOwner: 9, dataLength: 10, numChildren: 11 };
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
function ok<T>(value: T | JuteError): T {
  if (value instanceof JuteError) throw value;
  return value;
}
/** Through the wire and back, as a server sees it. */
function viaWire(request: ZkRequest): ZkRequest {
  return ok(decodeClientPacket(ok(encodeClientRequest(1, request)))).request;
}

describe("error code mapping", () => {
  it("ZooKeeper's codes are Corral's codes", () => {
    expect(ZK_ERROR_CODES).toHaveLength(32);
    for (const code of ZK_ERROR_CODES) {
      expect(Object.values(ErrorCode)).toContain(code);
      expect(zkErrorToCorral(code)).toBe(code);
    }
    for (const code of Object.values(ErrorCode)) expect(isZkErrorCode(code)).toBe(true);
  });

  it("Corral-only codes never reach a ZooKeeper client", () => {
    expect(corralErrorToZk(CorralCode.NotLeader)).toEqual({ action: "reply", zkCode: ErrorCode.ConnectionLoss });
    expect(corralErrorToZk(CorralCode.TooManyRequests)).toEqual({ action: "reply", zkCode: ErrorCode.Throttled });
    expect(corralErrorToZk(CorralCode.RequestForgotten)).toEqual({ action: "reply", zkCode: ErrorCode.ConnectionLoss });
    expect(corralErrorToZk(CorralCode.LimitExceeded)).toEqual({ action: "reply", zkCode: ErrorCode.BadArguments });
    expect(corralErrorToZk(ErrorCode.SessionMoved)).toMatchObject({ action: "close", zkCode: ErrorCode.SessionMoved });
    expect(corralErrorToZk(ErrorCode.NoNode)).toEqual({ action: "reply", zkCode: ErrorCode.NoNode });
    expect(corralErrorToZk(4242)).toEqual({ action: "reply", zkCode: ErrorCode.SystemError });
    expect(zkErrorToCorral(-126)).toBe(ErrorCode.SystemError);
    for (const code of [...Object.values(ErrorCode), ...Object.values(CorralCode), 7, -9999]) {
      expect(isZkErrorCode(corralErrorToZk(code).zkCode)).toBe(true);
    }
    for (const name of Object.keys(CorralCode)) expect(corralToZkErrorTable[name]).toBeDefined();
  });
});

describe("data shapes", () => {
  it("Stat both ways; container and TTL owners become 0", () => {
    const zk = corralStatToZk(stat);
    expect(zk.pzxid).toBe(3n);
    expect(ok(zkStatToCorral(zk))).toEqual(stat);
    expect(ok(zkStatToCorral({ ...zk, ephemeralOwner: ZK_CONTAINER_EPHEMERAL_OWNER })).ephemeralOwner).toBe(0);
    expect(ok(zkStatToCorral({ ...zk, ephemeralOwner: -72057594037927936n | 60000n })).ephemeralOwner).toBe(0);
    // Apache ZooKeeper's session ids carry the server id in the top byte: shown as their low 53 bits, as the client shows session ids.
    expect(ok(zkStatToCorral({ ...zk, ephemeralOwner: 0x0100_0000_0000_002an })).ephemeralOwner).toBe(0x2a);
    expect(zkSessionIdToNumber(0x0100_0000_0000_002an)).toBe(0x2a);
    const big = zkStatToCorral({ ...zk, mzxid: 1n << 60n });
    expect(big).toBeInstanceOf(JuteError);
    expect((big as JuteError).code).toBe("Unrepresentable");
  });

  it("passwords and secrets", () => {
    const passwd = new Uint8Array([...Array(16).keys()]);
    const secret = zkPasswordToSecret(passwd);
    expect(secret).toBe("000102030405060708090a0b0c0d0e0f");
    expect(ok(secretToZkPassword(secret))).toEqual(passwd);
    expect(secretToZkPassword("ab".repeat(32))).toBeInstanceOf(JuteError);
    expect(zkPasswordToSecret(null)).toBe("");
  });
});

const arbPath = fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => `/${s}`);
const arbAcl = fc.array(fc.record({ perms: fc.integer({ min: 0, max: 31 }), id: fc.record({ scheme: fc.constantFrom("world", "digest", "ip"), id: fc.string({ maxLength: 8 }) }) }), {
  maxLength: 3,
});
const arbVersion = fc.integer({ min: -1, max: 100 });
const arbCreate = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: arbPath, data: fc.uint8Array({ maxLength: 8 }), acl: arbAcl, mode: fc.constantFrom(0, 1, 2, 3, 4) as fc.Arbitrary<CreateMode> }),
  fc.record({
    type: fc.constant("create" as const),
    path: arbPath,
    data: fc.uint8Array({ maxLength: 8 }),
    acl: arbAcl,
    mode: fc.constantFrom(5, 6) as fc.Arbitrary<CreateMode>,
    ttlMs: fc.integer({ min: 1, max: 2 ** 40 - 1 }),
  }),
);
const arbSub: fc.Arbitrary<MultiSubOp> = fc.oneof(
  arbCreate,
  fc.record({ type: fc.constant("delete" as const), path: arbPath, version: arbVersion }),
  fc.record({ type: fc.constant("setData" as const), path: arbPath, data: fc.uint8Array({ maxLength: 8 }), version: arbVersion }),
  fc.record({ type: fc.constant("check" as const), path: arbPath, version: arbVersion }),
);
const arbClientOp: fc.Arbitrary<ClientOp> = fc.oneof(
  arbCreate,
  fc.record({ type: fc.constant("delete" as const), path: arbPath, version: arbVersion }),
  fc.record({ type: fc.constant("setData" as const), path: arbPath, data: fc.uint8Array({ maxLength: 8 }), version: arbVersion }),
  fc.record({ type: fc.constant("setACL" as const), path: arbPath, acl: arbAcl, version: arbVersion }),
  fc.record({ type: fc.constant("multi" as const), ops: fc.array(arbSub, { maxLength: 4 }) }),
  fc.record({ type: fc.constantFrom("getData" as const, "exists" as const, "getChildren" as const), path: arbPath, watch: fc.boolean() }),
  fc.record({ type: fc.constantFrom("getAllChildrenNumber" as const, "getACL" as const, "sync" as const), path: arbPath }),
  fc.record({ type: fc.constant("getEphemerals" as const), prefix: arbPath }),
  fc.record({ type: fc.constant("addWatch" as const), path: arbPath, mode: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ type: fc.constant("removeWatches" as const), path: arbPath, watcherType: fc.constantFrom(1 as const, 2 as const, 3 as const) }),
  fc.record({ type: fc.constant("addAuth" as const), scheme: fc.constantFrom("digest"), credentials: fc.string({ maxLength: 20 }) }),
);

describe("requests", () => {
  it("every Corral op survives Corral -> ZooKeeper request -> wire -> Corral", () => {
    fc.assert(
      fc.property(arbClientOp, (op) => {
        expect(zkRequestToCorral(viaWire(corralOpToZkRequest(op)))).toEqual({ kind: "op", op });
      }),
      { numRuns: 1000 },
    );
  });

  it("creates: opcode and flags", () => {
    const base = { path: "/n", data: null, acl: [] };
    expect(zkRequestToCorral({ op: "create", ...base, flags: 3 })).toEqual({ kind: "op", op: { type: "create", path: "/n", data: new Uint8Array(0), acl: [], mode: 3 } });
    expect(zkRequestToCorral({ op: "create2", ...base, flags: 7 })).toMatchObject({ kind: "reject", zkCode: ErrorCode.BadArguments });
    expect(zkRequestToCorral({ op: "createContainer", ...base, flags: 0 })).toMatchObject({ kind: "reject", zkCode: ErrorCode.BadArguments });
    expect(zkRequestToCorral({ op: "create2", ...base, flags: 5 })).toMatchObject({ kind: "reject", zkCode: ErrorCode.BadArguments });
    expect(zkRequestToCorral({ op: "createTTL", ...base, flags: 5, ttl: 0n })).toMatchObject({ kind: "reject", zkCode: ErrorCode.BadArguments });
    expect(zkRequestToCorral({ op: "createTTL", ...base, flags: 5, ttl: 2n ** 40n })).toMatchObject({ kind: "reject" });
    expect(zkRequestToCorral({ op: "createTTL", ...base, flags: 0, ttl: -1n })).toMatchObject({ kind: "op", op: { mode: 0 } });
    expect(zkRequestToCorral({ op: "createTTL", ...base, flags: 0, ttl: 5n })).toMatchObject({ kind: "reject" });
    expect(zkRequestToCorral({ op: "multi", ops: [{ op: "create", ...base, flags: 9 }] })).toMatchObject({ kind: "reject", zkCode: ErrorCode.BadArguments });
  });

  it("connection-level requests", () => {
    expect(zkRequestToCorral({ op: "ping" })).toEqual({ kind: "ping" });
    expect(zkRequestToCorral({ op: "closeSession" })).toEqual({ kind: "closeSession" });
    expect(zkRequestToCorral({ op: "whoAmI" })).toEqual({ kind: "whoAmI" });
    expect(zkRequestToCorral({ op: "checkWatches", path: "/a", type: 2 })).toEqual({ kind: "checkWatches", path: "/a", watcherType: 2 });
    expect(zkRequestToCorral({ op: "removeWatches", path: "/a", type: 4 })).toMatchObject({ kind: "reject", zkCode: ErrorCode.BadArguments });
    expect(zkRequestToCorral({ op: "reconfig", joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1n })).toMatchObject({
      kind: "reject",
      zkCode: ErrorCode.ReconfigDisabled,
      close: false,
    });
    expect(zkRequestToCorral({ op: "sasl", token: null })).toMatchObject({ kind: "reject", zkCode: ErrorCode.AuthFailed, close: true });
    expect(zkRequestToCorral({ op: "auth", type: 0, scheme: "digest", auth: new Uint8Array([0xff]) })).toMatchObject({ kind: "reject", close: true });
    expect(zkRequestToCorral({ op: "check", path: "/", version: 1 })).toMatchObject({ kind: "reject", zkCode: ErrorCode.Unimplemented });
    expect(zkRequestToCorral({ op: "getEphemerals", prefixPath: "  " })).toEqual({ kind: "op", op: { type: "getEphemerals", prefix: "/" } });
    expect(zkRequestToCorral({ op: "addWatch", path: "/", mode: 2 })).toMatchObject({ kind: "reject" });
    expect(
      zkRequestToCorral({
        op: "setWatches2",
        relativeZxid: 9n,
        dataWatches: ["/d"],
        existWatches: ["/e"],
        childWatches: ["/c"],
        persistentWatches: ["/p"],
        persistentRecursiveWatches: ["/r"],
      }),
    ).toEqual({ kind: "setWatches", relativeZxid: 9, watches: { data: ["/d"], exists: ["/e"], child: ["/c"], persistent: ["/p"], persistentRecursive: ["/r"] } });
    expect(zkRequestToCorral({ op: "setWatches", relativeZxid: -1n, dataWatches: [], existWatches: [], childWatches: [] })).toMatchObject({ kind: "reject" });
    expect(zkRequestToCorral({ op: "multiRead", ops: [{ op: "getData", path: "/a", watch: true }, { op: "getChildren", path: "/b", watch: false }] })).toEqual({
      kind: "multiRead",
      ops: [
        { type: "getData", path: "/a", watch: true },
        { type: "getChildren", path: "/b", watch: false },
      ],
    });
  });
});

describe("results", () => {
  const zstat = corralStatToZk(stat);

  it("the request picks the reply shape", () => {
    const created = { type: "create" as const, path: "/n0000000001", stat };
    expect(corralResultToZk({ op: "create", path: "/n", data: null, acl: [], flags: 2 }, created)).toEqual({
      action: "reply",
      err: 0,
      response: { op: "create", path: "/n0000000001" },
    });
    expect(corralResultToZk({ op: "createContainer", path: "/n", data: null, acl: [], flags: 4 }, created)).toEqual({
      action: "reply",
      err: 0,
      response: { op: "createContainer", path: "/n0000000001", stat: zstat },
    });
    const children = { type: "getChildren" as const, children: ["a"], stat };
    expect(corralResultToZk({ op: "getChildren", path: "/", watch: false }, children)).toEqual({ action: "reply", err: 0, response: { op: "getChildren", children: ["a"] } });
    expect(corralResultToZk({ op: "getChildren2", path: "/", watch: false }, children)).toEqual({
      action: "reply",
      err: 0,
      response: { op: "getChildren2", children: ["a"], stat: zstat },
    });
    expect(corralResultToZk({ op: "exists", path: "/", watch: false }, { type: "exists", stat: null })).toEqual({ action: "reply", err: ErrorCode.NoNode, response: null });
    expect(corralResultToZk({ op: "addWatch", path: "/", mode: 0 }, { type: "addWatch" })).toEqual({ action: "reply", err: 0, response: { op: "addWatch", err: 0 } });
    expect(corralResultToZk({ op: "delete", path: "/", version: -1 }, { type: "error", code: CorralCode.TooManyRequests })).toEqual({
      action: "reply",
      err: ErrorCode.Throttled,
      response: null,
    });
    expect(corralResultToZk({ op: "delete", path: "/", version: -1 }, { type: "error", code: ErrorCode.SessionMoved })).toMatchObject({ action: "close" });
    expect(corralResultToZk({ op: "delete", path: "/", version: -1 }, { type: "setData", stat })).toEqual({ action: "reply", err: ErrorCode.SystemError, response: null });
  });

  it("multi: create vs create2 results follow the sub-op; failures keep ZooKeeper's 0 / code / -2 pattern", () => {
    const request: ZkRequest = {
      op: "multi",
      ops: [
        { op: "create", path: "/a", data: null, acl: [], flags: 0 },
        { op: "create2", path: "/b", data: null, acl: [], flags: 0 },
        { op: "check", path: "/a", version: 0 },
      ],
    };
    expect(
      corralResultToZk(request, {
        type: "multi",
        results: [
          { type: "create", path: "/a", stat },
          { type: "create", path: "/b", stat },
          { type: "check" },
        ],
      }),
    ).toEqual({ action: "reply", err: 0, response: { op: "multi", results: [{ op: "create", path: "/a" }, { op: "create2", path: "/b", stat: zstat }, { op: "check" }] } });
    const failed = corralResultToZk(request, {
      type: "multi",
      results: [
        { type: "error", code: ErrorCode.Ok },
        { type: "error", code: ErrorCode.NodeExists },
        { type: "error", code: ErrorCode.RuntimeInconsistency },
      ],
    });
    expect(failed).toEqual({
      action: "reply",
      err: 0,
      response: {
        op: "multi",
        results: [
          { op: "error", err: 0 },
          { op: "error", err: -110 },
          { op: "error", err: -2 },
        ],
      },
    });
    // ...and the bytes encode.
    if (failed.action !== "reply") throw new Error("unreachable");
    expect(encodeServerReply({ kind: "reply", header: { xid: 1, zxid: 1n, err: failed.err }, response: failed.response })).toBeInstanceOf(Uint8Array);
  });

  it("multiRead, whoAmI, watch events", () => {
    expect(
      corralMultiReadToZk([
        { type: "getData", data: utf8("x"), stat },
        { type: "error", code: ErrorCode.NoNode },
        { type: "getChildren", children: ["c"], stat },
      ]),
    ).toEqual({
      op: "multiRead",
      results: [
        { op: "getData", data: utf8("x"), stat: zstat },
        { op: "error", err: -101 },
        { op: "getChildren", children: ["c"] },
      ],
    });
    expect(corralWhoAmIToZk([{ scheme: "digest", id: "u:h" }])).toEqual({ op: "whoAmI", clientInfo: [{ authScheme: "digest", user: "u:h" }] });
    const notification = corralWatchEventToZk({ type: 4, state: 3, path: "/p", zxid: 77 });
    expect(notification).toEqual({ kind: "notification", header: { xid: -1, zxid: 77n, err: 0 }, event: { type: 4, state: 3, path: "/p" } });
    expect(ok(decodeServerReply(ok(encodeServerReply(notification)), () => undefined))).toEqual(notification);
  });

  it("client side: replies back to Corral results", () => {
    const cases: [ClientOp, Parameters<typeof corralResultToZk>[1]][] = [
      [{ type: "create", path: "/n", data: utf8("d"), acl: [], mode: 0 }, { type: "create", path: "/n", stat }],
      [{ type: "create", path: "/c", data: utf8("d"), acl: [], mode: 4 }, { type: "create", path: "/c", stat }],
      [{ type: "delete", path: "/n", version: -1 }, { type: "delete" }],
      [{ type: "setData", path: "/n", data: utf8("d"), version: -1 }, { type: "setData", stat }],
      [{ type: "setACL", path: "/n", acl: [], version: -1 }, { type: "setACL", stat }],
      [{ type: "getData", path: "/n" }, { type: "getData", data: utf8("v"), stat }],
      [{ type: "exists", path: "/n" }, { type: "exists", stat }],
      [{ type: "exists", path: "/n" }, { type: "exists", stat: null }],
      [{ type: "getChildren", path: "/n" }, { type: "getChildren", children: ["a", "b"], stat }],
      [{ type: "getACL", path: "/n" }, { type: "getACL", acl: [{ perms: 31, id: { scheme: "world", id: "anyone" } }], stat }],
      [{ type: "getAllChildrenNumber", path: "/n" }, { type: "getAllChildrenNumber", count: 12 }],
      [{ type: "getEphemerals", prefix: "/" }, { type: "getEphemerals", paths: ["/e"] }],
      [{ type: "sync", path: "/n" }, { type: "sync", path: "/n" }],
      [{ type: "addWatch", path: "/n", mode: 1 }, { type: "addWatch" }],
      [{ type: "removeWatches", path: "/n", watcherType: 3 }, { type: "removeWatches" }],
      [{ type: "addAuth", scheme: "digest", credentials: "u:p" }, { type: "addAuth" }],
      [{ type: "getData", path: "/n" }, { type: "error", code: ErrorCode.NoAuth }],
      [
        { type: "multi", ops: [{ type: "create", path: "/a", data: utf8(""), acl: [], mode: 0 }, { type: "check", path: "/a", version: 1 }] },
        { type: "multi", results: [{ type: "create", path: "/a", stat }, { type: "check" }] },
      ],
      [
        { type: "multi", ops: [{ type: "delete", path: "/a", version: 1 }, { type: "setData", path: "/b", data: utf8(""), version: 1 }] },
        { type: "multi", results: [{ type: "error", code: ErrorCode.BadVersion }, { type: "error", code: ErrorCode.RuntimeInconsistency }] },
      ],
    ];
    for (const [op, result] of cases) {
      const request = corralOpToZkRequest(op);
      const body = corralResultToZk(request, result);
      if (body.action !== "reply") throw new Error("unexpected close");
      // Through the bytes, as a client receives it.
      const reply = ok(decodeServerReply(ok(encodeServerReply({ kind: "reply", header: { xid: 1, zxid: 1n, err: body.err }, response: body.response })), () => request.op));
      if (reply.kind !== "reply") throw new Error("unexpected notification");
      expect(zkReplyToCorral(request, reply.header.err, reply.response)).toEqual(result);
    }
    expect(zkReplyToCorral({ op: "create", path: "/", data: null, acl: [], flags: 0 }, 0, { op: "create", path: "/" })).toBeInstanceOf(JuteError);
    expect(zkReplyToCorral({ op: "delete", path: "/", version: 0 }, -9999, null)).toEqual({ type: "error", code: ErrorCode.SystemError });
  });
});
