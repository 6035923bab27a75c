import { CREATOR_ALL_ACL, CreateMode, CorralCode, ErrorCode, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE, digestIdentity } from "@corral/protocol";
import type { Stat } from "@corral/protocol";
import { describe, expect, it } from "vitest";
import { TreeInvariantViolation } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

function statOf(h: Harness, path: string): Stat {
  const stat = h.tree.statOf(path);
  if (stat === undefined) throw new Error(`no node ${path}`);
  return stat;
}

describe("Stat semantics", () => {
  it("create sets every field and updates the parent's cversion/pzxid", () => {
    const h = new Harness();
    h.session(1);
    const result = h.create("/a", "hello");
    const zxid = h.zxid;
    const time = h.timeMs;
    expect(result).toEqual({ type: "create", path: "/a", stat: statOf(h, "/a") });
    expect(statOf(h, "/a")).toEqual({ czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 5, numChildren: 0 });
    expect(statOf(h, "/")).toEqual({ czxid: 0, mzxid: 0, pzxid: zxid, ctime: 0, mtime: 0, version: 0, cversion: 1, aversion: 0, ephemeralOwner: 0, dataLength: 0, numChildren: 1 });
  });

  it("setData bumps version, mzxid, mtime only", () => {
    const h = new Harness();
    h.create("/a", "x");
    const before = statOf(h, "/a");
    const result = h.write({ type: "setData", path: "/a", data: bytes("longer"), version: 0 });
    expect(result).toEqual({ type: "setData", stat: { ...before, version: 1, mzxid: h.zxid, mtime: h.timeMs, dataLength: 6 } });
    expect(h.write({ type: "setData", path: "/a", data: bytes(""), version: 0 })).toEqual({ type: "error", code: ErrorCode.BadVersion, path: "/a" });
    expect(h.write({ type: "setData", path: "/a", data: bytes(""), version: -1 })).toMatchObject({ type: "setData", stat: { version: 2, dataLength: 0 } });
  });

  it("child create/delete: cversion reports creations plus deletions as ZooKeeper 3.8 does, sequential names count creations, pzxid moves on both", () => {
    // The values Apache ZooKeeper 3.8 gives for the same operations (DataNode.copyStat: 2 x creations - numChildren).
    const h = new Harness();
    h.create("/p");
    h.create("/p/a");
    h.create("/p/b");
    expect(statOf(h, "/p")).toMatchObject({ cversion: 2, numChildren: 2, pzxid: h.zxid, mzxid: statOf(h, "/p").czxid, version: 0 });
    expect(h.write({ type: "delete", path: "/p/a", version: 0 })).toEqual({ type: "delete" });
    expect(statOf(h, "/p")).toMatchObject({ cversion: 3, numChildren: 1, pzxid: h.zxid });
    expect(h.tree.statOf("/p/a")).toBeUndefined();
    // The sequential suffix is the count of creations (2), not the reported cversion (3).
    expect(h.write({ type: "create", path: "/p/s-", data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PersistentSequential })).toMatchObject({ path: "/p/s-0000000002" });
    expect(statOf(h, "/p")).toMatchObject({ cversion: 4, numChildren: 2 });
  });

  it("delete checks the parent's DELETE permission before the node's existence (NoAuth, not NoNode, as ZooKeeper answers)", () => {
    const h = new Harness();
    h.create("/locked");
    expect(h.write({ type: "setACL", path: "/locked", acl: READ_ACL_UNSAFE, version: -1 })).toMatchObject({ type: "setACL" });
    expect(h.write({ type: "delete", path: "/locked/missing", version: -1 })).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.write({ type: "delete", path: "/nothing/missing", version: -1 })).toMatchObject({ code: ErrorCode.NoNode });
  });

  it("setACL bumps aversion and checks it", () => {
    const h = new Harness();
    h.create("/a");
    expect(h.write({ type: "setACL", path: "/a", acl: READ_ACL_UNSAFE, version: 1 })).toMatchObject({ code: ErrorCode.BadVersion });
    expect(h.write({ type: "setACL", path: "/a", acl: READ_ACL_UNSAFE, version: 0 })).toMatchObject({ type: "setACL", stat: { aversion: 1, version: 0 } });
    expect(h.read({ type: "getACL", path: "/a" })).toMatchObject({ type: "getACL", acl: READ_ACL_UNSAFE });
  });
});

describe("create rules", () => {
  it("sequential names come from the parent's cversion, %010d", () => {
    const h = new Harness();
    h.create("/q");
    expect(h.create("/q/n-", "", CreateMode.PersistentSequential)).toMatchObject({ path: "/q/n-0000000000" });
    h.create("/q/other");
    expect(h.create("/q/n-", "", CreateMode.PersistentSequential)).toMatchObject({ path: "/q/n-0000000002" });
    h.write({ type: "delete", path: "/q/n-0000000002", version: -1 });
    expect(h.create("/q/", "", CreateMode.EphemeralSequential)).toMatchObject({ path: "/q/0000000003" });
  });

  it("errors: NoNode, NodeExists, BadArguments, reserved paths, data limit", () => {
    const h = new Harness({ limits: { maxDataBytes: 4 } });
    expect(h.create("/x/y")).toEqual({ type: "error", code: ErrorCode.NoNode, path: "/x/y" });
    h.create("/x");
    expect(h.create("/x")).toMatchObject({ code: ErrorCode.NodeExists });
    expect(h.create("/x/")).toMatchObject({ code: ErrorCode.BadArguments });
    expect(h.create("/x/../y")).toMatchObject({ code: ErrorCode.BadArguments });
    expect(h.create("/corral")).toMatchObject({ code: ErrorCode.BadArguments });
    expect(h.create("/x/big", "12345")).toMatchObject({ code: CorralCode.LimitExceeded });
    expect(h.write({ type: "create", path: "/corral", data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: 0 }, { system: true })).toMatchObject({ type: "create" });
    expect(h.write({ type: "delete", path: "/corral", version: -1 })).toMatchObject({ code: ErrorCode.BadArguments });
    expect(h.write({ type: "delete", path: "/", version: -1 })).toMatchObject({ code: ErrorCode.BadArguments });
  });

  it("ephemerals: owner set, no children, listed by getEphemerals, deleted on closeSession", () => {
    const h = new Harness();
    h.session(7);
    h.create("/app");
    expect(h.create("/app/e1", "", CreateMode.Ephemeral, { sessionId: 7 })).toMatchObject({ stat: { ephemeralOwner: 7 } });
    h.create("/app/e2", "", CreateMode.Ephemeral, { sessionId: 7 });
    expect(h.create("/app/e1/child")).toMatchObject({ code: ErrorCode.NoChildrenForEphemerals });
    expect(h.read({ type: "getEphemerals", prefix: "/app" }, [], 7)).toEqual({ type: "getEphemerals", paths: ["/app/e1", "/app/e2"] });
    const closed = h.txn({ type: "closeSession", sessionId: 7, reason: "expired" });
    expect(closed.result).toEqual({ type: "closeSession", sessionId: 7, deleted: ["/app/e1", "/app/e2"] });
    expect(closed.changes.map(({ type, path }) => ({ type, path }))).toEqual([
      { type: "deleted", path: "/app/e1" },
      { type: "childrenChanged", path: "/app" },
      { type: "deleted", path: "/app/e2" },
      { type: "childrenChanged", path: "/app" },
    ]);
    expect(closed.sessionEvents).toEqual([{ type: "closed", sessionId: 7, reason: "expired" }]);
    expect(h.read({ type: "getChildren", path: "/app" })).toMatchObject({ children: [] });
    expect(h.tree.session(7)).toBeUndefined();
    expect(h.txn({ type: "request", sessionId: 7, seq: 99, auth: [], op: { type: "delete", path: "/app", version: -1 } }).result).toMatchObject({ code: ErrorCode.SessionExpired });
  });

  it("delete: NotEmpty, BadVersion, NoNode", () => {
    const h = new Harness();
    h.create("/a");
    h.create("/a/b");
    expect(h.write({ type: "delete", path: "/a", version: -1 })).toMatchObject({ code: ErrorCode.NotEmpty });
    expect(h.write({ type: "delete", path: "/a/b", version: 3 })).toMatchObject({ code: ErrorCode.BadVersion });
    expect(h.write({ type: "delete", path: "/zz", version: -1 })).toMatchObject({ code: ErrorCode.NoNode });
  });
});

describe("reads", () => {
  it("getData, exists, getChildren (sorted), getAllChildrenNumber", () => {
    const h = new Harness();
    h.create("/r", "data");
    h.create("/r/b");
    h.create("/r/a");
    h.create("/r/a/x");
    expect(h.read({ type: "getData", path: "/r" })).toMatchObject({ type: "getData", data: bytes("data"), stat: { numChildren: 2 } });
    expect(h.read({ type: "exists", path: "/nope" })).toEqual({ type: "exists", stat: null });
    expect(h.read({ type: "getData", path: "/nope" })).toEqual({ type: "error", code: ErrorCode.NoNode, path: "/nope" });
    expect(h.read({ type: "getChildren", path: "/r" })).toMatchObject({ children: ["a", "b"] });
    expect(h.read({ type: "getAllChildrenNumber", path: "/r" })).toEqual({ type: "getAllChildrenNumber", count: 3 });
    expect(h.read({ type: "getAllChildrenNumber", path: "/" })).toEqual({ type: "getAllChildrenNumber", count: 4 });
    expect(h.read({ type: "getData", path: "bad" })).toMatchObject({ code: ErrorCode.BadArguments });
  });
});

describe("ACL", () => {
  const alice = digestIdentity("alice", "secret");
  const bob = digestIdentity("bob", "pw");
  const superId = digestIdentity("super", "admin");

  it("denies without the right permission, per ZooKeeper's op -> perm table", () => {
    const h = new Harness({ superDigest: superId.id });
    expect(h.create("/s", "d", 0, { acl: CREATOR_ALL_ACL, auth: [alice] })).toMatchObject({ type: "create" });
    expect(h.read({ type: "getACL", path: "/s" }, [alice])).toMatchObject({ acl: [{ perms: Perms.ALL, id: alice }] });
    // Not authenticated: auth scheme cannot be expanded.
    expect(h.create("/t", "", 0, { acl: CREATOR_ALL_ACL })).toMatchObject({ code: ErrorCode.InvalidACL });
    expect(h.read({ type: "getData", path: "/s" }, [bob])).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.read({ type: "getChildren", path: "/s" }, [bob])).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.read({ type: "exists", path: "/s" }, [bob])).toMatchObject({ type: "exists" });
    expect(h.write({ type: "setData", path: "/s", data: bytes(""), version: -1 }, { auth: [bob] })).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.create("/s/c", "", 0, { auth: [bob] })).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.write({ type: "setACL", path: "/s", acl: OPEN_ACL_UNSAFE, version: -1 }, { auth: [bob] })).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.read({ type: "getData", path: "/s" }, [alice])).toMatchObject({ type: "getData" });
    expect(h.read({ type: "getData", path: "/s" }, [superId])).toMatchObject({ type: "getData" });
    expect(h.create("/s/c", "", 0, { auth: [alice] })).toMatchObject({ type: "create" });
    // delete needs DELETE on the parent.
    h.write({ type: "setACL", path: "/s", acl: [{ perms: Perms.ALL & ~Perms.DELETE, id: alice }], version: -1 }, { auth: [alice] });
    expect(h.write({ type: "delete", path: "/s/c", version: -1 }, { auth: [alice] })).toMatchObject({ code: ErrorCode.NoAuth });
    expect(h.write({ type: "delete", path: "/s/c", version: -1 }, { auth: [superId] })).toEqual({ type: "delete" });
  });

  it("getACL with READ only redacts digest credentials", () => {
    const h = new Harness();
    h.create("/k", "", 0, { acl: [{ perms: Perms.ALL, id: alice }, { perms: Perms.READ, id: { scheme: "world", id: "anyone" } }] });
    expect(h.read({ type: "getACL", path: "/k" }, [bob])).toMatchObject({ acl: [{ perms: Perms.ALL, id: { scheme: "digest", id: "alice:x" } }, { perms: Perms.READ }] });
  });

  it("rejects malformed ACLs with InvalidACL", () => {
    const h = new Harness();
    expect(h.create("/a", "", 0, { acl: [] })).toMatchObject({ code: ErrorCode.InvalidACL });
    expect(h.create("/a", "", 0, { acl: [{ perms: 1, id: { scheme: "world", id: "someone" } }] })).toMatchObject({ code: ErrorCode.InvalidACL });
    expect(h.create("/a", "", 0, { acl: [{ perms: 1, id: { scheme: "digest", id: "nocolon" } }] })).toMatchObject({ code: ErrorCode.InvalidACL });
    expect(h.create("/a", "", 0, { acl: [{ perms: 99, id: { scheme: "world", id: "anyone" } }] })).toMatchObject({ code: ErrorCode.InvalidACL });
    expect(h.create("/a", "", 0, { acl: [{ perms: 1, id: { scheme: "ip", id: "1.2.3.4" } }] })).toMatchObject({ code: ErrorCode.InvalidACL });
  });
});

describe("multi", () => {
  it("applies all ops and reports per-op results", () => {
    const h = new Harness();
    h.create("/m");
    const result = h.write({
      type: "multi",
      ops: [
        { type: "create", path: "/m/a", data: bytes("1"), acl: OPEN_ACL_UNSAFE, mode: 0 },
        { type: "create", path: "/m/a/b", data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: 0 },
        { type: "setData", path: "/m/a", data: bytes("2"), version: 0 },
        { type: "check", path: "/m/a", version: 1 },
        { type: "delete", path: "/m/a/b", version: -1 },
      ],
    });
    expect(result).toMatchObject({ type: "multi", results: [{ type: "create", path: "/m/a" }, { type: "create", path: "/m/a/b" }, { type: "setData", stat: { version: 1 } }, { type: "check" }, { type: "delete" }] });
    // One child created and deleted: ZooKeeper reports 2 changes.
    expect(h.read({ type: "getData", path: "/m/a" })).toMatchObject({ data: bytes("2"), stat: { numChildren: 0, cversion: 2 } });
  });

  it("is all-or-nothing: Ok before the failure, its error, RuntimeInconsistency after; tree and digest unchanged", () => {
    const h = new Harness();
    h.session(1);
    h.create("/m", "keep");
    h.create("/m/x");
    const digest = h.tree.digest();
    const stat = h.tree.statOf("/m");
    const outcome = h.writeOutcome({
      type: "multi",
      ops: [
        { type: "create", path: "/m/new", data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Ephemeral },
        { type: "setData", path: "/m", data: bytes("changed"), version: -1 },
        { type: "delete", path: "/m/x", version: -1 },
        { type: "check", path: "/m", version: 0 },
        { type: "create", path: "/m/never", data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: 0 },
      ],
    });
    expect(outcome.result).toEqual({
      type: "multi",
      results: [
        { type: "error", code: ErrorCode.Ok },
        { type: "error", code: ErrorCode.Ok },
        { type: "error", code: ErrorCode.Ok },
        { type: "error", code: ErrorCode.BadVersion, path: "/m" },
        { type: "error", code: ErrorCode.RuntimeInconsistency },
      ],
    });
    expect(outcome.changes).toEqual([]);
    expect(h.tree.statOf("/m")).toEqual(stat);
    expect(h.tree.statOf("/m/x")).toBeDefined();
    expect(h.tree.statOf("/m/new")).toBeUndefined();
    expect(h.read({ type: "getEphemerals", prefix: "/" })).toEqual({ type: "getEphemerals", paths: [] });
    expect(h.tree.digest()).not.toBe(digest); // the session's lastSeq moved
    expect(h.read({ type: "getData", path: "/m" })).toMatchObject({ data: bytes("keep") });
  });

  it("enforces the maximum ops per multi", () => {
    const h = new Harness({ limits: { maxMultiOps: 2 } });
    const check = { type: "check" as const, path: "/", version: -1 };
    expect(h.write({ type: "multi", ops: [check, check, check] })).toEqual({ type: "error", code: CorralCode.LimitExceeded });
    expect(h.write({ type: "multi", ops: [check, check] })).toMatchObject({ type: "multi" });
  });
});

describe("exactly-once", () => {
  it("a re-sent seq returns the remembered result and applies nothing", () => {
    const h = new Harness({ limits: { exactlyOnceWindow: 2 } });
    h.session(5);
    const txn = (seq: number, path: string) => ({ type: "request" as const, sessionId: 5, seq, auth: [], op: { type: "create" as const, path, data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PersistentSequential } });
    const first = h.txn(txn(1, "/n-")).result;
    expect(first).toMatchObject({ path: "/n-0000000000" });
    const digest = h.tree.digest();
    const again = h.txn(txn(1, "/n-"));
    expect(again).toEqual({ result: first, changes: [], replayed: true });
    expect(h.tree.digest()).toBe(digest);
    h.txn(txn(2, "/n-"));
    // A gap is accepted and recorded (documented).
    expect(h.txn(txn(4, "/n-")).result).toMatchObject({ path: "/n-0000000002" });
    expect(h.tree.session(5)?.lastSeq).toBe(4);
    expect(h.txn(txn(1, "/n-")).result).toEqual({ type: "error", code: CorralCode.RequestForgotten });
    expect(h.txn(txn(2, "/n-")).result).toMatchObject({ path: "/n-0000000001" });
  });

  it("unknown sessions get SessionExpired", () => {
    const h = new Harness();
    expect(h.txn({ type: "request", sessionId: 42, seq: 1, auth: [], op: { type: "delete", path: "/a", version: -1 } }).result).toEqual({ type: "error", code: ErrorCode.SessionExpired });
  });

  it("apply refuses a zxid that does not increase", () => {
    const h = new Harness();
    h.txn({ type: "noop" });
    expect(() => h.tree.apply({ type: "noop" }, { zxid: 1, timeMs: 0 })).toThrow(TreeInvariantViolation);
  });
});

describe("containers and TTL", () => {
  it("a container becomes reapable when its last child goes; reap re-checks", () => {
    const h = new Harness();
    h.create("/c", "", CreateMode.Container);
    expect(h.tree.findReapable(h.timeMs)).toEqual([]);
    h.create("/c/child");
    expect(h.tree.findReapable(h.timeMs)).toEqual([]);
    h.write({ type: "delete", path: "/c/child", version: -1 });
    expect(h.tree.findReapable(h.timeMs)).toEqual([{ path: "/c", kind: "container" }]);
    h.create("/c/again");
    // Stale candidate: the reap re-checks and refuses.
    expect(h.txn({ type: "reap", path: "/c", kind: "container" }).result).toMatchObject({ code: ErrorCode.NotEmpty });
    h.write({ type: "delete", path: "/c/again", version: -1 });
    const reaped = h.txn({ type: "reap", path: "/c", kind: "container" });
    expect(reaped.result).toEqual({ type: "reap", path: "/c" });
    expect(reaped.changes.map(({ type, path }) => ({ type, path }))).toEqual([{ type: "deleted", path: "/c" }, { type: "childrenChanged", path: "/" }]);
    // Each change names the ACL that decides who may see its events: the node's, the parent's for childrenChanged.
    expect(reaped.changes.every((change) => change.acl !== undefined)).toBe(true);
    expect(h.txn({ type: "reap", path: "/c", kind: "container" }).result).toMatchObject({ code: ErrorCode.NoNode });
  });

  it("a TTL node is reapable once idle longer than its TTL and childless", () => {
    const h = new Harness();
    expect(h.create("/t", "", CreateMode.PersistentWithTTL)).toMatchObject({ code: ErrorCode.BadArguments });
    expect(h.create("/t", "", 0, { ttlMs: 5 })).toMatchObject({ code: ErrorCode.BadArguments });
    expect(h.create("/t", "", CreateMode.PersistentWithTTL, { ttlMs: 100 })).toMatchObject({ type: "create", stat: { ephemeralOwner: 0 } });
    const mtime = h.timeMs;
    expect(h.tree.findReapable(mtime + 100)).toEqual([]);
    expect(h.tree.findReapable(mtime + 101)).toEqual([{ path: "/t", kind: "ttl" }]);
    expect(h.txn({ type: "reap", path: "/t", kind: "ttl" }).result).toMatchObject({ code: ErrorCode.BadVersion });
    h.timeMs = mtime + 200;
    expect(h.txn({ type: "reap", path: "/t", kind: "ttl" }).result).toEqual({ type: "reap", path: "/t" });
    expect(h.create("/s", "", CreateMode.PersistentSequentialWithTTL, { ttlMs: 1 })).toMatchObject({ path: "/s0000000001" });
  });
});
