import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE } from "@corral/protocol";
import type { MultiSubOp, Txn, WriteOp } from "@corral/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataTree, SnapshotError } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

const PATHS = ["/a", "/b", "/a/x", "/a/y", "/b/z", "/a/x/q"];
const arbPath = fc.constantFrom(...PATHS);
const arbData = fc.constantFrom("", "1", "two", "three!");
const arbVersion = fc.constantFrom(-1, 0, 1, 2);

type ModelOp =
  | { type: "create"; path: string; data: string; ephemeral: boolean }
  | { type: "delete"; path: string; version: number }
  | { type: "setData"; path: string; data: string; version: number };

const arbOp: fc.Arbitrary<ModelOp> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: arbPath, data: arbData, ephemeral: fc.boolean() }),
  fc.record({ type: fc.constant("delete" as const), path: arbPath, version: arbVersion }),
  fc.record({ type: fc.constant("setData" as const), path: arbPath, data: arbData, version: arbVersion }),
);

interface ModelNode {
  data: string;
  version: number;
  ephemeral: boolean;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** The reference: a Map of path -> data/version, ZooKeeper's checks in ZooKeeper's order. */
function modelApply(model: Map<string, ModelNode>, op: ModelOp): number {
  const node = model.get(op.path);
  const hasChildren = [...model.keys()].some((p) => parentOf(p) === op.path);
  switch (op.type) {
    case "create": {
      const parent = parentOf(op.path);
      if (parent !== "/" && !model.has(parent)) return ErrorCode.NoNode;
      if (node) return ErrorCode.NodeExists;
      if (parent !== "/" && model.get(parent)!.ephemeral) return ErrorCode.NoChildrenForEphemerals;
      model.set(op.path, { data: op.data, version: 0, ephemeral: op.ephemeral });
      return 0;
    }
    case "delete":
      if (!node) return ErrorCode.NoNode;
      if (op.version !== -1 && op.version !== node.version) return ErrorCode.BadVersion;
      if (hasChildren) return ErrorCode.NotEmpty;
      model.delete(op.path);
      return 0;
    case "setData":
      if (!node) return ErrorCode.NoNode;
      if (op.version !== -1 && op.version !== node.version) return ErrorCode.BadVersion;
      node.data = op.data;
      node.version++;
      return 0;
  }
}

function toWriteOp(op: ModelOp): WriteOp {
  switch (op.type) {
    case "create":
      return { type: "create", path: op.path, data: bytes(op.data), acl: OPEN_ACL_UNSAFE, mode: op.ephemeral ? CreateMode.Ephemeral : CreateMode.Persistent };
    case "delete":
      return op;
    case "setData":
      return { type: "setData", path: op.path, data: bytes(op.data), version: op.version };
  }
}

describe("property: the tree agrees with a reference model", () => {
  it("random create/delete/setData sequences", () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 60 }), (ops) => {
        const h = new Harness();
        const model = new Map<string, ModelNode>();
        for (const op of ops) {
          const expected = modelApply(model, op);
          const result = h.write(toWriteOp(op));
          expect(result.type === "error" ? result.code : 0).toBe(expected);
          for (const path of PATHS) {
            const node = model.get(path);
            const read = h.read({ type: "getData", path });
            if (node === undefined) expect(read).toMatchObject({ type: "error", code: ErrorCode.NoNode });
            else expect(read).toMatchObject({ type: "getData", data: bytes(node.data), stat: { version: node.version, ephemeralOwner: node.ephemeral ? 1 : 0 } });
          }
        }
        const rootChildren = h.read({ type: "getChildren", path: "/" });
        expect(rootChildren).toMatchObject({ children: [...model.keys()].filter((p) => parentOf(p) === "/").map((p) => p.slice(1)).sort() });
      }),
      { numRuns: 200 },
    );
  });
});

const arbSubOp: fc.Arbitrary<MultiSubOp> = fc.oneof(
  arbOp.map((op) => toWriteOp(op) as MultiSubOp),
  fc.record({ type: fc.constant("check" as const), path: arbPath, version: arbVersion }),
);
const arbTxn: fc.Arbitrary<Txn> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ type: fc.constant("createSession" as const), sessionId: fc.integer({ min: 1, max: 3 }), timeoutMs: fc.constant(5000), secretHash: fc.constant("s") }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("closeSession" as const), sessionId: fc.integer({ min: 1, max: 3 }), reason: fc.constant("expired" as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant("request" as const),
      sessionId: fc.integer({ min: 1, max: 3 }),
      seq: fc.integer({ min: 1, max: 30 }),
      auth: fc.constant([]),
      op: fc.oneof(arbOp.map(toWriteOp), fc.record({ type: fc.constant("multi" as const), ops: fc.array(arbSubOp, { maxLength: 4 }) })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("reap" as const), path: arbPath, kind: fc.constantFrom("container" as const, "ttl" as const) }) },
  { weight: 1, arbitrary: fc.constant({ type: "noop" as const }) },
);

describe("property: determinism", () => {
  it("two replicas fed the same entries agree at every step; snapshot/restore keeps the digest", () => {
    fc.assert(
      fc.property(fc.array(arbTxn, { maxLength: 50 }), (txns) => {
        const one = new DataTree({ limits: { exactlyOnceWindow: 4 } });
        const two = new DataTree({ limits: { exactlyOnceWindow: 4 } });
        let zxid = 0;
        for (const txn of txns) {
          zxid++;
          const ctx = { zxid, timeMs: 1000 + zxid * 7 };
          const a = one.apply(txn, ctx);
          const b = two.apply(txn, ctx);
          expect(a).toEqual(b);
          expect(one.digest()).toBe(two.digest());
        }
        const snap = one.snapshot();
        expect(two.snapshot()).toEqual(snap);
        const restored = DataTree.restore(snap, { limits: { exactlyOnceWindow: 4 } });
        if (restored instanceof SnapshotError) throw restored;
        expect(restored.digest()).toBe(one.digest());
        // And the restored replica keeps agreeing.
        for (const txn of txns.slice(0, 10)) {
          zxid++;
          const ctx = { zxid, timeMs: 1000 + zxid * 7 };
          expect(restored.apply(txn, ctx)).toEqual(one.apply(txn, ctx));
          expect(restored.digest()).toBe(one.digest());
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a failed multi leaves every node exactly as before", () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 20 }), fc.array(arbSubOp, { minLength: 1, maxLength: 5 }), (setup, ops) => {
        const h = new Harness();
        for (const op of setup) h.write(toWriteOp(op));
        const before = h.tree.snapshot();
        const probe = DataTree.restore(before);
        if (probe instanceof SnapshotError) throw probe;
        const result = h.write({ type: "multi", ops });
        if (result.type === "multi" && result.results.some((r) => r.type === "error")) {
          for (const path of PATHS) expect(h.tree.statOf(path)).toEqual(probe.statOf(path));
          expect(h.read({ type: "getChildren", path: "/" })).toEqual(probe.read({ type: "getChildren", path: "/" }, { sessionId: 1, auth: [] }));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("property: hostile input never throws", () => {
  it("arbitrary paths, versions and ACLs in writes and reads give typed results", () => {
    const arbAnyPath = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }), arbPath, fc.constant("/corral/x"));
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            path: arbAnyPath,
            version: fc.integer({ min: -5, max: 5 }),
            mode: fc.integer({ min: 0, max: 6 }) as fc.Arbitrary<CreateMode>,
            ttl: fc.option(fc.integer({ min: -5, max: 10 }), { nil: undefined }),
            scheme: fc.constantFrom("world", "auth", "digest", "ip", ""),
            id: fc.string({ maxLength: 8 }),
            perms: fc.integer({ min: -1, max: 40 }),
          }),
          { maxLength: 30 },
        ),
        (inputs) => {
          const h = new Harness();
          for (const { path, version, mode, ttl, scheme, id, perms } of inputs) {
            const acl = [{ perms, id: { scheme, id } }];
            const results = [
              h.write({ type: "create", path, data: bytes("d"), acl, mode, ...(ttl === undefined ? {} : { ttlMs: ttl }) }),
              h.write({ type: "setData", path, data: bytes("e"), version }),
              h.write({ type: "setACL", path, acl, version }),
              h.write({ type: "delete", path, version }),
              h.write({ type: "multi", ops: [{ type: "check", path, version }, { type: "create", path, data: bytes(""), acl, mode }] }),
              h.read({ type: "getData", path }),
              h.read({ type: "getChildren", path }),
              h.read({ type: "getACL", path }),
              h.read({ type: "getAllChildrenNumber", path }),
              h.read({ type: "getEphemerals", prefix: path }),
            ];
            for (const result of results) expect(typeof result.type).toBe("string");
          }
          const restored = DataTree.restore(h.tree.snapshot());
          expect(restored instanceof DataTree && restored.digest() === h.tree.digest()).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});
