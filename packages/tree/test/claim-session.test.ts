/**
 * Session owners (ClaimSessionTxn): a ZooKeeper-wire connection claims its
 * session; writes tagged with another owner answer SessionMoved before the
 * exactly-once check and consume no seq; a claim moves lastSeq past
 * SESSION_CLAIM_SEQ_GAP, is idempotent for its owner, and survives snapshot
 * and digest. Untagged writes (Corral's own client) are never checked.
 */
import { describe, expect, it } from "vitest";
import { ErrorCode, OPEN_ACL_UNSAFE, SESSION_CLAIM_SEQ_GAP, decodeTxn, encodeTxn, type Txn, type WriteOp } from "@corral/protocol";
import { DataTree } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

const create = (path: string): WriteOp => ({ type: "create", path, data: bytes(""), acl: OPEN_ACL_UNSAFE, mode: 0 });
const tagged = (seq: number, owner: string, path: string): Txn => ({ type: "request", sessionId: 1, seq, auth: [], op: create(path), owner });

describe("session owners", () => {
  it("a claim moves lastSeq past the gap, once per owner", () => {
    const h = new Harness();
    h.session(1);
    expect(h.txn(tagged(1, "a", "/a1")).result.type).toBe("create");
    const claimed = h.txn({ type: "claimSession", sessionId: 1, owner: "b" });
    expect(claimed.result).toEqual({ type: "claimSession", sessionId: 1, lastSeq: 1 + SESSION_CLAIM_SEQ_GAP });
    const digest = h.tree.digest();
    // Re-sent by its node until seen applied: the same owner changes nothing.
    expect(h.txn({ type: "claimSession", sessionId: 1, owner: "b" }).result).toEqual(claimed.result);
    expect(h.tree.digest()).toBe(digest);
    expect(h.tree.session(1)).toMatchObject({ owner: "b", lastSeq: 1 + SESSION_CLAIM_SEQ_GAP });
    expect(h.txn({ type: "claimSession", sessionId: 99, owner: "b" }).result).toEqual({ type: "error", code: ErrorCode.SessionExpired });
  });

  it("a stale owner's write answers SessionMoved before the exactly-once table and consumes no seq", () => {
    const h = new Harness();
    h.session(1);
    h.txn(tagged(1, "a", "/a1"));
    h.txn({ type: "claimSession", sessionId: 1, owner: "b" });
    const base = 1 + SESSION_CLAIM_SEQ_GAP;
    // The old owner's next write (seq 2), and a re-send of its applied seq 1: both SessionMoved, not a remembered result.
    expect(h.txn(tagged(2, "a", "/a2")).result).toEqual({ type: "error", code: ErrorCode.SessionMoved });
    expect(h.txn(tagged(1, "a", "/a1")).result).toEqual({ type: "error", code: ErrorCode.SessionMoved });
    expect(h.tree.session(1)?.lastSeq).toBe(base);
    expect(h.tree.statOf("/a2")).toBeUndefined();
    // The new owner's seqs start past the gap; its re-send is answered from the table.
    expect(h.txn(tagged(base + 1, "b", "/b1")).result).toMatchObject({ type: "create", path: "/b1" });
    expect(h.txn(tagged(base + 1, "b", "/b1")).result).toMatchObject({ type: "create", path: "/b1" });
    // Untagged writes (client-assigned seqs) are never checked against the owner.
    const untagged: Txn = { type: "request", sessionId: 1, seq: base + 2, auth: [], op: create("/u") };
    expect(h.txn(untagged).result).toMatchObject({ type: "create", path: "/u" });
  });

  it("owners survive snapshot and digest; trees without a claim keep their digest", () => {
    const h = new Harness();
    h.session(1);
    h.session(2);
    const before = h.tree.digest();
    h.txn({ type: "claimSession", sessionId: 1, owner: "n1#5#7" });
    expect(h.tree.digest()).not.toBe(before);
    const restored = DataTree.restore(h.tree.snapshot());
    if (!(restored instanceof DataTree)) throw restored;
    expect(restored.digest()).toBe(h.tree.digest());
    expect(restored.session(1)?.owner).toBe("n1#5#7");
    expect(restored.session(2)?.owner).toBeUndefined();
  });

  it("the claim and the owner tag round-trip through the entry codec", () => {
    for (const txn of [{ type: "claimSession", sessionId: 3, owner: "n2#1#9" } as const, tagged(4, "n2#1#9", "/x")]) {
      expect(decodeTxn(JSON.parse(JSON.stringify(encodeTxn(txn))))).toEqual(txn);
    }
    expect(decodeTxn({ type: "claimSession", sessionId: 3, owner: "x".repeat(300) })).toMatchObject({ _tag: "DecodeError" });
  });
});
