import { CreateMode, OPEN_ACL_UNSAFE, digestIdentity, CREATOR_ALL_ACL } from "@corral/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataTree, SnapshotError } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

function populated(): Harness {
  const h = new Harness({ superDigest: digestIdentity("super", "x").id });
  h.session(3);
  h.create("/a", "alpha");
  h.create("/a/b", "", 0, { acl: CREATOR_ALL_ACL, auth: [digestIdentity("u", "p")] });
  h.create("/a/e", "x", CreateMode.EphemeralSequential, { sessionId: 3 });
  h.create("/c", "", CreateMode.Container);
  h.create("/t", "", CreateMode.PersistentWithTTL, { ttlMs: 50 });
  h.create("/ü", "日本");
  h.write({ type: "setData", path: "/a", data: bytes("beta"), version: 0 });
  return h;
}

describe("snapshot", () => {
  it("restore gives the same digest, bytes, reads and behaviour", () => {
    const h = populated();
    const snap = h.tree.snapshot();
    const restored = DataTree.restore(snap, { superDigest: digestIdentity("super", "x").id });
    if (restored instanceof SnapshotError) throw restored;
    expect(restored.digest()).toBe(h.tree.digest());
    expect(restored.snapshot()).toEqual(snap);
    expect(restored.lastZxid).toBe(h.tree.lastZxid);
    expect(restored.sessions()).toEqual(h.tree.sessions());
    for (const path of ["/", "/a", "/a/b", "/a/e0000000001", "/c", "/t", "/ü"]) expect(restored.statOf(path)).toEqual(h.tree.statOf(path));
    expect(restored.findReapable(h.timeMs + 1000)).toEqual(h.tree.findReapable(h.timeMs + 1000));
    // Same next entry => same outcome on both.
    const txn = { type: "closeSession" as const, sessionId: 3, reason: "closed" as const };
    const ctx = { zxid: h.zxid + 1, timeMs: h.timeMs + 1 };
    expect(restored.apply(txn, ctx)).toEqual(h.tree.apply(txn, ctx));
    expect(restored.digest()).toBe(h.tree.digest());
    // Exactly-once results survive.
    const replay = { type: "request" as const, sessionId: 1, seq: 1, auth: [], op: { type: "create" as const, path: "/a", data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: 0 as const } };
    const ctx2 = { zxid: h.zxid + 2, timeMs: h.timeMs + 2 };
    const r1 = restored.apply(replay, ctx2);
    expect(r1.replayed).toBe(true);
    expect(r1).toEqual(h.tree.apply(replay, ctx2));
  });

  it("is deterministic: same entries, same bytes", () => {
    expect(populated().tree.snapshot()).toEqual(populated().tree.snapshot());
  });

  it("rejects corrupt bytes with a SnapshotError, never a throw", () => {
    const snap = populated().tree.snapshot();
    expect(DataTree.restore(snap.slice(0, snap.length - 3))).toBeInstanceOf(SnapshotError);
    expect(DataTree.restore(new Uint8Array([1, 2, 3]))).toBeInstanceOf(SnapshotError);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: snap.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const bad = snap.slice();
        bad[index] = bad[index]! ^ flip;
        const out = DataTree.restore(bad);
        // A flip may land in an unchecked spot only if the digest still matches, which it must not.
        expect(out).toBeInstanceOf(SnapshotError);
      }),
      { numRuns: 300 },
    );
  });
});
