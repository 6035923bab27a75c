/** Pre-vote, check-quorum, ReadIndex, leadership transfer (Raft thesis §9.6, §6.2, §6.4, §3.10), §6 membership, §7 compaction. */
import { describe, expect, it } from "vitest";
import { ConfChangeType, EntryType, InvariantViolation, MessageType, type ProposeResult } from "../src/index.js";
import { Cluster, lone, str, text } from "./cluster-harness.js";

const three = { voters: ["a", "b", "c"], learners: [] };
const isolate = (id: string) => (m: { from: string; to: string }) => m.from !== id && m.to !== id;
const errTag = (r: ProposeResult) => (r.ok ? "ok" : r.error._tag);

describe("pre-vote (thesis §9.6)", () => {
  it("a partitioned node does not raise its term, so rejoining does not depose the leader", () => {
    const c = new Cluster(["a", "b", "c"], { preVote: true });
    c.elect("a");
    c.filter = isolate("c");
    c.tickAll(100);
    expect(c.node("c").status().term).toBe(1);
    expect(c.node("c").status().role).toBe("preCandidate");
    c.filter = () => true;
    c.tickAll(5);
    expect(c.leader()).toBe("a");
    expect(c.node("a").status().term).toBe(1);
  });

  it("without pre-vote the same partition inflates the term and disrupts the leader", () => {
    const c = new Cluster(["a", "b", "c"], { preVote: false });
    c.elect("a");
    c.filter = isolate("c");
    c.tickAll(100);
    expect(c.node("c").status().term).toBeGreaterThan(1);
    c.filter = () => true;
    c.tickAll(40);
    expect(c.node("a").status().term).toBeGreaterThan(1);
  });

  it("a pre-vote is granted only to an up-to-date log, and changes neither term nor vote", () => {
    const c = new Cluster(["a", "b", "c"], { preVote: true });
    c.elect("a");
    c.node("a").propose(text("x"));
    c.stabilize();
    const b = c.node("b");
    b.step({ type: MessageType.PreVote, from: "c", to: "b", term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const rd = b.ready();
    b.advance(rd);
    expect(rd.messages).toEqual([{ type: MessageType.PreVoteResp, from: "b", to: "c", term: 1, reject: true }]);
    expect(b.status()).toMatchObject({ term: 1, vote: "a" });
  });
});

describe("check-quorum (thesis §6.2)", () => {
  it("a leader that hears from no majority within an election timeout steps down", () => {
    const c = new Cluster(["a", "b", "c"], { checkQuorum: true });
    c.elect("a");
    c.filter = isolate("a");
    for (let i = 0; i < 25; i++) {
      c.tick("a");
      c.stabilize();
    }
    expect(c.node("a").status().role).toBe("follower");
    expect(errTag(c.node("a").propose(text("x")))).toBe("NotLeader");
  });

  it("without check-quorum an isolated leader stays leader", () => {
    const c = new Cluster(["a", "b", "c"], { checkQuorum: false });
    c.elect("a");
    c.filter = isolate("a");
    for (let i = 0; i < 25; i++) {
      c.tick("a");
      c.stabilize();
    }
    expect(c.node("a").status().role).toBe("leader");
  });

  it("followers that heard from the leader within the lease ignore vote requests", () => {
    const c = new Cluster(["a", "b", "c"], { checkQuorum: true });
    c.elect("a");
    const b = c.node("b");
    b.step({ type: MessageType.Vote, from: "c", to: "b", term: 5, lastLogIndex: 10, lastLogTerm: 4, transfer: false });
    expect(b.status().term).toBe(1);
    expect(b.status().dropped.voteInLease).toBe(1);
  });
});

describe("ReadIndex (thesis §6.4)", () => {
  it("the leader answers only after a heartbeat quorum confirms it, with index = commit", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.node("a").propose(text("x"));
    c.stabilize();
    c.filter = (m) => m.type !== MessageType.HeartbeatResp;
    c.node("a").readIndex(text("r1"));
    c.stabilize();
    expect(c.readStates.get("a")).toEqual([]);
    c.filter = () => true;
    c.node("a").readIndex(text("r2"));
    c.stabilize();
    expect(c.readStates.get("a")?.map((r) => [r.index, str(r.requestContext)])).toEqual([
      [2, "r1"],
      [2, "r2"],
    ]);
  });

  it("a new leader answers no read until it has committed an entry of its term", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.filter = (m) => m.type !== MessageType.AppResp;
    c.elect("a");
    c.node("a").readIndex(text("r"));
    c.tickAll(3);
    expect(c.readStates.get("a")).toEqual([]);
    c.filter = () => true;
    c.tickAll(3);
    expect(c.readStates.get("a")?.map((r) => r.index)).toEqual([1]);
  });

  it("a follower's read is forwarded to the leader and answered to the follower", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.stabilize();
    c.node("b").readIndex(text("fr"));
    c.stabilize();
    expect(c.readStates.get("b")?.map((r) => [r.index, str(r.requestContext)])).toEqual([[1, "fr"]]);
  });

  it("reads beyond maxPendingReadIndex are dropped and counted", () => {
    const c = new Cluster(["a", "b", "c"], { maxPendingReadIndex: 2 });
    c.filter = (m) => m.type !== MessageType.AppResp;
    c.elect("a");
    for (let i = 0; i < 5; i++) c.node("a").readIndex(text(`r${i}`));
    expect(c.node("a").status().dropped.readIndexQueueFull).toBe(3);
  });
});

describe("leadership transfer (thesis §3.10)", () => {
  it("an up-to-date target gets MsgTimeoutNow and wins the next term at once", () => {
    const c = new Cluster(["a", "b", "c"], { checkQuorum: true, preVote: true });
    c.elect("a");
    c.node("a").transferLeadership("b");
    c.stabilize();
    expect(c.leader()).toBe("b");
    expect(c.node("b").status().term).toBe(2);
  });

  it("a lagging target is caught up first; proposals are refused while the transfer is in progress", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.down.add("c");
    for (let i = 0; i < 3; i++) c.node("a").propose(text(`p${i}`));
    c.stabilize();
    c.down.delete("c");
    c.node("a").transferLeadership("c");
    expect(errTag(c.node("a").propose(text("late")))).toBe("ProposalDropped");
    c.tickAll(3);
    expect(c.leader()).toBe("c");
    expect(c.appliedData("c")).toEqual(["p0", "p1", "p2"]);
  });

  it("a transfer that cannot finish within an election timeout is abandoned", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.filter = (m) => m.to !== "c";
    c.node("a").propose(text("x"));
    c.stabilize();
    c.node("a").transferLeadership("c");
    expect(c.node("a").status().leadTransferee).toBe("c");
    for (let i = 0; i < 12; i++) {
      c.tick("a");
      c.stabilize();
    }
    expect(c.node("a").status().leadTransferee).toBeNull();
    expect(c.node("a").propose(text("y")).ok).toBe(true);
  });
});

describe("§6 membership changes", () => {
  it("adds a learner that replicates but does not vote or count toward commit, then promotes it", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.node("a").propose(text("before"));
    c.stabilize();
    expect(c.node("a").proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: "d" }).ok).toBe(true);
    c.stabilize();
    c.add("d", { voters: [], learners: [] });
    c.tickAll(3);
    expect(c.appliedData("d")).toEqual(["before"]);
    expect(c.node("a").status().conf).toEqual({ voters: ["a", "b", "c"], learners: ["d"] });
    // a learner never campaigns
    c.tick("d", 200);
    expect(c.node("d").status().role).toBe("follower");
    // commit with b, c down needs 2 of 3 voters: the learner does not help
    c.down.add("b");
    c.down.add("c");
    c.node("a").propose(text("stuck"));
    c.tickAll(2);
    expect(c.appliedData("a")).toEqual(["before"]);
    c.down.delete("b");
    c.tickAll(6);
    expect(c.appliedData("a")).toEqual(["before", "stuck"]);
    expect(c.node("a").proposeConfChange({ type: ConfChangeType.PromoteLearner, nodeId: "d" }).ok).toBe(true);
    c.tickAll(2);
    expect(c.node("d").status().conf.voters).toContain("d");
  });

  it("one change at a time: a second change is refused until the first is applied", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.stabilize();
    c.filter = (m) => m.type !== MessageType.AppResp;
    expect(c.node("a").proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: "d" }).ok).toBe(true);
    const second = c.node("a").proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "c" });
    expect(!second.ok && second.error._tag === "ProposalDropped" && second.error.reason).toBe("confChangePending");
    c.filter = () => true;
    c.tickAll(2);
    expect(c.node("a").proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "c" }).ok).toBe(true);
  });

  it("a new leader proposes no change before its no-op is applied", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.filter = (m) => m.type !== MessageType.AppResp;
    c.elect("a");
    const r = c.node("a").proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: "d" });
    expect(!r.ok && r.error._tag === "ProposalDropped" && r.error.reason).toBe("confChangePending");
  });

  it("invalid changes are refused with a typed error", () => {
    const c = new Cluster(["a"]);
    c.elect("a");
    c.stabilize();
    const r = c.node("a").proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "a" });
    expect(!r.ok && r.error._tag === "ProposalDropped" && r.error.reason).toBe("invalidConfChange");
  });

  it("a removed leader steps down once the change is applied; the rest elect a new leader", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.stabilize();
    expect(c.node("a").proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "a" }).ok).toBe(true);
    c.stabilize();
    expect(c.node("a").status().role).toBe("follower");
    c.down.add("a");
    c.tickAll(40);
    const l = c.leader();
    expect(l === "b" || l === "c").toBe(true);
    const r = c.node(l as string).propose(text("after"));
    expect(r.ok).toBe(true);
    c.stabilize();
    expect(c.appliedData(l as string)).toEqual(["after"]);
  });

  it("removing a voter shrinks the quorum: two voters commit with one down after removing a third", () => {
    const c = new Cluster(["a", "b", "c", "d"]);
    c.elect("a");
    c.stabilize();
    c.node("a").proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "d" });
    c.stabilize();
    c.down.add("c");
    c.node("a").propose(text("x"));
    c.stabilize();
    expect(c.appliedData("a")).toEqual(["x"]);
  });
});

describe("§7 log compaction and InstallSnapshot", () => {
  it("compact() drops the applied prefix and returns the snapshot to persist; bad indexes are typed errors", () => {
    const c = new Cluster(["a"]);
    c.elect("a");
    for (let i = 0; i < 5; i++) c.node("a").propose(text(`p${i}`));
    c.stabilize();
    const snap = c.node("a").compact(4, text("state@4"));
    expect(snap).toMatchObject({ meta: { index: 4, term: 1, conf: { voters: ["a"], learners: [] } } });
    expect(c.node("a").status().firstIndex).toBe(5);
    expect(c.node("a").compact(3, text("x"))).toMatchObject({ _tag: "CompactError" });
    expect(c.node("a").compact(99, text("x"))).toMatchObject({ _tag: "CompactError" });
  });

  it("a follower behind the compaction point receives the snapshot in bounded chunks, reassembles and installs it", () => {
    const c = new Cluster(["a", "b", "c"], { snapshotChunkBytes: 16 });
    c.elect("a");
    c.down.add("c");
    for (let i = 0; i < 10; i++) c.node("a").propose(text(`p${i}`));
    c.stabilize();
    const state = text("a".repeat(100));
    const snap = c.node("a").compact(8, state);
    expect(snap).not.toBeInstanceOf(Error);
    c.logs.get("a")?.writeSnapshot(snap as never);
    const chunks: number[] = [];
    let dropped = 0;
    c.filter = (m) => {
      if (m.type === MessageType.Snap) {
        chunks.push(m.data.byteLength);
        // lose one chunk: the leader must resend it
        if (m.offset === 32 && dropped++ === 0) return false;
      }
      return true;
    };
    c.down.delete("c");
    c.tickAll(10);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(16);
    expect(c.node("c").status()).toMatchObject({ commit: 11, applied: 11, firstIndex: 9 });
    expect(c.appliedData("c")).toEqual(["p7", "p8", "p9"]);
    expect(str(c.logs.get("c")?.recovered().snapshot?.data ?? new Uint8Array())).toBe("a".repeat(100));
    expect(c.node("a").status().progress?.c?.state).toBe("replicate");
  });

  it("a snapshot the follower already has a matching prefix for only advances its commit", () => {
    const c = new Cluster(["a", "b"]);
    c.elect("a");
    c.node("a").propose(text("x"));
    c.stabilize();
    const b = c.node("b");
    b.step({ type: MessageType.Snap, from: "a", to: "b", term: 1, snapshotIndex: 2, snapshotTerm: 1, conf: { voters: ["a", "b"], learners: [] }, offset: 0, totalBytes: 0, data: new Uint8Array() });
    expect(b.status().lastIndex).toBe(2);
    const rd = b.ready();
    expect(rd.snapshot).toBeUndefined();
    b.advance(rd);
  });

  it("a snapshot larger than maxSnapshotBytes is refused", () => {
    const { node } = lone("b", ["a", "b"], { maxSnapshotBytes: 10 });
    node.step({ type: MessageType.Snap, from: "a", to: "b", term: 1, snapshotIndex: 5, snapshotTerm: 1, conf: three, offset: 0, totalBytes: 11, data: new Uint8Array(11) });
    expect(node.status().dropped.snapshotTooLarge).toBe(1);
    expect(node.status().commit).toBe(0);
  });
});

describe("proposals", () => {
  it("a follower refuses with NotLeader{leaderId}, or forwards to the leader", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    const r = c.node("b").propose(text("x"));
    expect(!r.ok && r.error._tag === "NotLeader" && r.error.leaderId).toBe("a");
    expect(c.node("b").forwardProposal(text("fwd"))).toEqual({ ok: true, leaderId: "a" });
    c.stabilize();
    c.tickAll(2);
    expect(c.appliedData("c")).toEqual(["fwd"]);
  });

  it("the leader drops proposals past maxUncommittedBytes (one always fits)", () => {
    const c = new Cluster(["a", "b", "c"], { maxUncommittedBytes: 300 });
    c.elect("a");
    c.stabilize();
    c.down.add("b");
    c.down.add("c");
    const results = [0, 1, 2, 3].map(() => errTag(c.node("a").propose(new Uint8Array(100))));
    expect(results).toEqual(["ok", "ok", "ProposalDropped", "ProposalDropped"]);
    c.down.clear();
    c.tickAll(3);
    expect(c.node("a").propose(new Uint8Array(100)).ok).toBe(true);
  });

  it("proposals and acks of one turn leave as one MsgApp per follower, not one each", () => {
    const c = new Cluster(["a", "b", "c"], { maxInflightAppends: 256 });
    c.elect("a");
    c.stabilize();
    for (let i = 0; i < 20; i++) expect(c.node("a").propose(text(`p${i}`)).ok).toBe(true);
    c.process("a");
    const apps = c.queue.filter((m) => m.type === MessageType.App);
    expect(apps.map((m) => m.to).sort()).toEqual(["b", "c"]);
    expect(apps.map((m) => (m.type === MessageType.App ? m.entries.length : 0))).toEqual([20, 20]);
    c.stabilize();
    c.tickAll(2);
    expect(c.appliedData("c")).toHaveLength(20);
  });

  it("a follower that got several appends in one batch acks once, with the highest index", () => {
    const c = new Cluster(["a", "b", "c"], { maxEntriesPerAppend: 1 });
    c.elect("a");
    c.stabilize();
    for (let i = 0; i < 3; i++) c.node("a").propose(text(`p${i}`));
    c.process("a");
    const toB = c.queue.filter((m) => m.to === "b" && m.type === MessageType.App);
    expect(toB).toHaveLength(3);
    for (const m of toB) c.node("b").step(m);
    c.queue = c.queue.filter((m) => m.to !== "b");
    c.process("b");
    const acks = c.queue.filter((m) => m.from === "b" && m.type === MessageType.AppResp);
    expect(acks).toHaveLength(1);
    expect(acks[0]?.type === MessageType.AppResp && acks[0].index).toBe(c.node("a").status().lastIndex);
    c.stabilize();
    c.tickAll(2);
    expect(c.appliedData("b")).toEqual(["p0", "p1", "p2"]);
  });

  it("an entry larger than maxBytesPerAppend is refused", () => {
    const c = new Cluster(["a"], { maxBytesPerAppend: 64 });
    c.elect("a");
    expect(errTag(c.node("a").propose(new Uint8Array(65)))).toBe("ProposalDropped");
  });
});

describe("invariants and robustness", () => {
  it("ready() twice without advance() is an InvariantViolation", () => {
    const { node } = lone("a", ["a"]);
    node.campaign();
    node.ready();
    expect(() => node.ready()).toThrow(InvariantViolation);
  });

  it("stale, misaddressed and unexpected messages are dropped and counted, never thrown", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    const a = c.node("a");
    expect(() => {
      a.step({ type: MessageType.AppResp, from: "zz", to: "a", term: 1, index: 99, reject: false, conflictTerm: 0, conflictIndex: 0 });
      a.step({ type: MessageType.AppResp, from: "b", to: "a", term: 1, index: 99, reject: false, conflictTerm: 0, conflictIndex: 0 });
      a.step({ type: MessageType.HeartbeatResp, from: "b", to: "x", term: 1, readSeq: 0 });
      a.step({ type: MessageType.TimeoutNow, from: "b", to: "a", term: 1 });
      a.step({ type: MessageType.SnapResp, from: "b", to: "a", term: 1, snapshotIndex: 3, snapshotTerm: 1, nextOffset: 3, reject: false });
    }).not.toThrow();
    const d = a.status().dropped;
    expect(d.respFromNonMember).toBe(1);
    expect(d.appRespBeyondLog).toBe(1);
    expect(d.misaddressed).toBe(1);
    expect(a.status().role).toBe("leader");
  });

  it("a single-node cluster commits after its own persist", () => {
    const c = new Cluster(["a"]);
    c.elect("a");
    c.node("a").propose(text("solo"));
    c.stabilize();
    expect(c.appliedData("a")).toEqual(["solo"]);
    expect(c.node("a").entryAt(1)?.type).toBe(EntryType.Noop);
  });
});
