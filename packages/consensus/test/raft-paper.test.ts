/**
 * Rules of the Raft paper (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm"), one test per rule: Figure 2 and §5.4.
 */
import { SeededRandom } from "@corral/actors";
import { describe, expect, it } from "vitest";
import { EntryType, MemoryDurableLog, MessageType, RawNode, type Entry, type RaftMessage, type Ready } from "../src/index.js";
import { Cluster, config, lone, text } from "./cluster-harness.js";

const e = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: text(`${index}/${term}`) });

function drain(node: RawNode): Ready {
  const rd = node.ready();
  node.advance(rd);
  return rd;
}

function nodeWithLog(id: string, voters: string[], term: number, entries: Entry[], commit = 0): RawNode {
  return new RawNode(config(id), { hardState: { term, vote: null, commit }, snapshot: null, entries }, { voters, learners: [] }, new SeededRandom(3));
}

const vote = (from: string, to: string, term: number, lastLogIndex: number, lastLogTerm: number): RaftMessage => ({
  type: MessageType.Vote, from, to, term, lastLogIndex, lastLogTerm, transfer: false,
});
const app = (from: string, to: string, term: number, prevIndex: number, prevTerm: number, entries: Entry[], commit: number): RaftMessage => ({
  type: MessageType.App, from, to, term, prevIndex, prevTerm, entries, commit,
});

describe("Figure 2: RequestVote receiver", () => {
  it("rule 1: reply false if term < currentTerm", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 5, []);
    drain(n);
    n.step(vote("b", "a", 4, 10, 4));
    const rd = drain(n);
    expect(rd.messagesAfterPersist).toEqual([]);
    expect(n.status().term).toBe(5);
    expect(n.status().vote).toBeNull();
  });

  it("rule 2: grant if votedFor is null and the candidate's log is at least as up-to-date; the vote is persisted before the reply", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 1, [e(1, 1)]);
    drain(n);
    n.step(vote("b", "a", 2, 1, 1));
    const rd = drain(n);
    expect(rd.hardState).toEqual({ term: 2, vote: "b", commit: 0 });
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist).toEqual([{ type: MessageType.VoteResp, from: "a", to: "b", term: 2, reject: false }]);
  });

  it("rule 2: at most one vote per term (a second candidate is rejected, the same one re-granted)", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 1, []);
    n.step(vote("b", "a", 2, 0, 0));
    n.step(vote("c", "a", 2, 0, 0));
    n.step(vote("b", "a", 2, 0, 0));
    const rejects = drain(n).messagesAfterPersist.map((m) => (m.type === MessageType.VoteResp ? `${m.to}:${m.reject}` : ""));
    expect(rejects).toEqual(["b:false", "c:true", "b:false"]);
  });

  it("§5.4.1 election restriction: reject a candidate whose last term is lower, or equal with a shorter log", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 3, [e(1, 1), e(2, 3)]);
    n.step(vote("b", "a", 4, 5, 2));
    n.step(vote("c", "a", 5, 1, 3));
    const out = drain(n).messagesAfterPersist.map((m) => (m.type === MessageType.VoteResp ? m.reject : null));
    expect(out).toEqual([true, true]);
    n.step(vote("c", "a", 6, 2, 3));
    expect(drain(n).messagesAfterPersist.map((m) => (m.type === MessageType.VoteResp ? m.reject : null))).toEqual([false]);
  });

  it("a vote survives a crash: after restart the node will not vote for another candidate in that term", () => {
    const c = new Cluster(["a", "b", "c"]);
    const b = c.node("b");
    b.step(vote("a", "b", 1, 0, 0));
    c.process("b");
    c.queue = [];
    const restarted = c.restart("b", { voters: ["a", "b", "c"], learners: [] });
    expect(restarted.status().vote).toBe("a");
    restarted.step(vote("c", "b", 1, 0, 0));
    const rd = drain(restarted);
    expect(rd.messagesAfterPersist).toEqual([{ type: MessageType.VoteResp, from: "b", to: "c", term: 1, reject: true }]);
  });
});

describe("Figure 2: AppendEntries receiver", () => {
  it("rule 1: reply false if term < currentTerm (the stale leader learns the newer term)", () => {
    const { node } = lone("a", ["a", "b", "c"], { checkQuorum: true });
    node.step(app("b", "a", 3, 0, 0, [], 0));
    drain(node);
    node.step(app("c", "a", 2, 0, 0, [e(1, 2)], 0));
    const rd = drain(node);
    expect(rd.messagesAfterPersist).toEqual([expect.objectContaining({ type: MessageType.AppResp, to: "c", term: 3 })]);
    expect(node.status().lastIndex).toBe(0);
  });

  it("rule 2: reply false if the log has no entry at prevIndex with prevTerm, with a fast-backtracking hint", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 3, [e(1, 1), e(2, 2), e(3, 2), e(4, 2)]);
    n.step(app("b", "a", 3, 4, 3, [e(5, 3)], 0));
    const [resp] = drain(n).messagesAfterPersist;
    expect(resp).toMatchObject({ type: MessageType.AppResp, reject: true, index: 4, conflictTerm: 2, conflictIndex: 2 });
    n.step(app("b", "a", 3, 9, 3, [], 0));
    const [resp2] = drain(n).messagesAfterPersist;
    expect(resp2).toMatchObject({ reject: true, index: 9, conflictTerm: 0, conflictIndex: 5 });
  });

  it("rule 3: a conflicting entry is deleted with all that follow it", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 2, [e(1, 1), e(2, 2), e(3, 2)]);
    drain(n);
    n.step(app("b", "a", 3, 1, 1, [e(2, 3)], 0));
    const rd = drain(n);
    expect(rd.entries.map((x) => [x.index, x.term])).toEqual([[2, 3]]);
    expect(n.status().lastIndex).toBe(2);
    expect(n.termAt(2)).toBe(3);
  });

  it("rule 4: append entries not already in the log (duplicates are idempotent)", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 1, [e(1, 1)]);
    drain(n);
    n.step(app("b", "a", 1, 0, 0, [e(1, 1), e(2, 1)], 0));
    n.step(app("b", "a", 1, 0, 0, [e(1, 1), e(2, 1)], 0));
    const rd = drain(n);
    expect(rd.entries.map((x) => x.index)).toEqual([2]);
    expect(rd.messagesAfterPersist.every((m) => m.type === MessageType.AppResp && !m.reject && m.index === 2)).toBe(true);
    expect(rd.messages).toEqual([]);
  });

  it("rule 5: commitIndex = min(leaderCommit, index of last new entry)", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 1, []);
    n.step(app("b", "a", 1, 0, 0, [e(1, 1), e(2, 1)], 5));
    expect(n.status().commit).toBe(2);
    n.step(app("b", "a", 1, 2, 1, [e(3, 1)], 3));
    expect(n.status().commit).toBe(3);
    const rd = drain(n);
    expect(rd.committedEntries.map((x) => x.index)).toEqual([1, 2, 3]);
  });

  it("rejects malformed appends (non-contiguous indexes) without changing anything", () => {
    const n = nodeWithLog("a", ["a", "b", "c"], 1, []);
    n.step(app("b", "a", 1, 0, 0, [e(1, 1), e(3, 1)], 0));
    expect(n.status().lastIndex).toBe(0);
    expect(n.status().dropped.malformedAppend).toBe(1);
  });
});

describe("Figure 2: rules for servers", () => {
  it("all servers: a higher term in any message makes the node a follower of that term", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.node("a").step({ type: MessageType.HeartbeatResp, from: "b", to: "a", term: 9, readSeq: 0 });
    expect(c.node("a").status()).toMatchObject({ role: "follower", term: 9 });
  });

  it("followers: without hearing from a leader for a randomized election timeout, become candidate", () => {
    const { node } = lone("a", ["a", "b", "c"], { electionTicksMin: 10, electionTicksMax: 20 });
    let ticks = 0;
    while (node.status().role === "follower" && ticks < 100) {
      node.tick();
      ticks++;
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(ticks).toBeLessThanOrEqual(20);
    expect(node.status()).toMatchObject({ role: "candidate", term: 1, vote: "a" });
    const rd = node.ready();
    // Vote requests leave only after term and self-vote are durable.
    expect(rd.hardState).toEqual({ term: 1, vote: "a", commit: 0 });
    expect(rd.messagesAfterPersist.filter((m) => m.type === MessageType.Vote)).toHaveLength(2);
  });

  it("election timeouts are randomized across nodes", () => {
    const timeouts = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const { node } = lone("a", ["a", "b", "c"], {}, seed);
      let t = 0;
      while (node.status().role === "follower") {
        node.tick();
        t++;
      }
      timeouts.add(t);
    }
    expect(timeouts.size).toBeGreaterThan(3);
  });

  it("candidates: votes from a majority make a leader, which appends a no-op of its term", () => {
    const c = new Cluster(["a", "b", "c", "d", "e"]);
    c.filter = (m) => !(m.to === "d" || m.to === "e");
    c.elect("a");
    expect(c.node("a").status().role).toBe("leader");
    expect(c.node("a").entryAt(1)).toMatchObject({ type: EntryType.Noop, term: 1 });
  });

  it("candidates: a split vote (no majority) keeps the candidate from leading", () => {
    const c = new Cluster(["a", "b", "c", "d", "e"]);
    c.filter = (m) => !["c", "d", "e"].includes(m.to);
    c.elect("a");
    expect(c.node("a").status().role).toBe("candidate");
  });

  it("candidates: an AppendEntries from a leader of the same term makes the candidate a follower", () => {
    const { node } = lone("a", ["a", "b", "c"]);
    node.campaign();
    drain(node);
    node.step(app("b", "a", 1, 0, 0, [], 0));
    expect(node.status()).toMatchObject({ role: "follower", leaderId: "b", term: 1 });
  });

  it("leaders: send heartbeats while idle so followers do not time out", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.tickAll(100);
    expect(c.leader()).toBe("a");
    expect(c.node("b").status().term).toBe(1);
  });

  it("leaders: commit N when a majority has matchIndex >= N and log[N].term == currentTerm", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.filter = (m) => m.to !== "c" && m.from !== "c";
    c.node("a").propose(text("v"));
    c.stabilize();
    expect(c.node("a").status().commit).toBe(2);
    expect(c.appliedData("a")).toEqual(["v"]);
  });
});

describe("§5.4.2 committing entries from previous terms (Figure 8)", () => {
  it("a leader does not commit an old-term entry replicated on a majority until an entry of its own term is", () => {
    // a holds entry (2, term 2) never committed; it becomes leader of term 4.
    const a = new RawNode(config("a"), { hardState: { term: 3, vote: null, commit: 1 }, snapshot: null, entries: [e(1, 1), e(2, 2)] }, { voters: ["a", "b", "c", "d", "e"], learners: [] }, new SeededRandom(1));
    a.campaign();
    drain(a);
    for (const id of ["b", "c"]) a.step({ type: MessageType.VoteResp, from: id, to: "a", term: 4, reject: false });
    expect(a.status().role).toBe("leader");
    drain(a); // a persists its no-op at 3
    // b and c acknowledge index 2 (the term-2 entry): replicated on a majority (a, b, c)...
    for (const id of ["b", "c"]) a.step({ type: MessageType.AppResp, from: id, to: "a", term: 4, index: 2, reject: false, conflictTerm: 0, conflictIndex: 0 });
    // ...but it must not be committed: a term-3 leader could still overwrite it (Figure 8 (c)-(d)).
    expect(a.status().commit).toBe(1);
    for (const id of ["b", "c"]) a.step({ type: MessageType.AppResp, from: id, to: "a", term: 4, index: 3, reject: false, conflictTerm: 0, conflictIndex: 0 });
    expect(a.status().commit).toBe(3);
  });

  it("leader completeness: a node missing a committed entry cannot be elected", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.filter = (m) => m.to !== "c" && m.from !== "c";
    c.node("a").propose(text("committed"));
    c.stabilize();
    expect(c.node("a").status().commit).toBe(2);
    c.down.add("a");
    c.filter = () => true;
    c.elect("c");
    expect(c.node("c").status().role).not.toBe("leader");
    c.elect("b");
    expect(c.node("b").status().role).toBe("leader");
    c.stabilize();
    expect(c.appliedData("c")).toEqual(["committed"]);
  });
});

describe("log replication", () => {
  it("fast backtracking: a follower with a long divergent tail converges in a few round trips", () => {
    const divergent: Entry[] = [e(1, 1)];
    for (let i = 2; i <= 200; i++) divergent.push(e(i, 2));
    const leaderLog: Entry[] = [e(1, 1)];
    for (let i = 2; i <= 50; i++) leaderLog.push(e(i, 3));
    const c = new Cluster(["a", "b", "c"]);
    const mk = (id: string, entries: Entry[], term: number) => {
      const log = new MemoryDurableLog({ autoSync: false });
      log.write({ hardState: { term, vote: null, commit: 1 }, entries });
      log.syncAll();
      c.logs.set(id, log);
      c.add(id, { voters: ["a", "b", "c"], learners: [] });
    };
    mk("a", leaderLog, 3);
    mk("b", leaderLog, 3);
    mk("c", divergent, 2);
    let rejects = 0;
    c.filter = (m) => {
      if (m.type === MessageType.AppResp && m.reject && m.from === "c") rejects++;
      return true;
    };
    c.elect("a");
    c.tickAll(5);
    expect(c.node("c").status().lastIndex).toBe(51);
    expect(c.node("c").termAt(200)).toBeUndefined();
    expect(rejects).toBeLessThanOrEqual(3);
  });

  it("pipelining: in replicate state the leader keeps at most maxInflightAppends appends in flight", () => {
    const c = new Cluster(["a", "b"], { maxInflightAppends: 3, maxEntriesPerAppend: 1 });
    c.elect("a");
    let held: RaftMessage[] = [];
    c.filter = (m) => {
      if (m.type === MessageType.AppResp) {
        held.push(m);
        return false;
      }
      return true;
    };
    for (let i = 0; i < 10; i++) c.node("a").propose(text(`p${i}`));
    c.process("a");
    const apps = c.queue.filter((m) => m.type === MessageType.App && m.entries.length > 0);
    expect(apps).toHaveLength(3);
    expect(c.node("a").status().progress?.b?.inflightAppends).toBe(3);
    c.stabilize();
    c.filter = () => true;
    c.queue.push(...held);
    held = [];
    c.stabilize();
    expect(c.appliedData("b")).toHaveLength(10);
  });

  it("pipelining: the in-flight window is also bounded by bytes", () => {
    const c = new Cluster(["a", "b"], { maxInflightAppends: 100, maxInflightBytes: 200, maxEntriesPerAppend: 1 });
    c.elect("a");
    c.filter = (m) => m.type !== MessageType.AppResp;
    for (let i = 0; i < 10; i++) c.node("a").propose(new Uint8Array(100));
    c.process("a");
    // each append costs 124 bytes: the second one fills the 200-byte window
    expect(c.queue.filter((m) => m.type === MessageType.App && m.entries.length > 0)).toHaveLength(2);
  });

  it("probe state: one append at a time until the follower answers", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.filter = (m) => m.to !== "c";
    c.elect("a");
    for (let i = 0; i < 5; i++) c.node("a").propose(text(`p${i}`));
    c.stabilize();
    expect(c.node("a").status().progress?.c?.state).toBe("probe");
    c.filter = () => true;
    c.tickAll(2);
    expect(c.node("a").status().progress?.c?.state).toBe("replicate");
    expect(c.appliedData("c")).toHaveLength(5);
  });

  it("batching: entries are sent in appends bounded by maxEntriesPerAppend", () => {
    const c = new Cluster(["a", "b"], { maxEntriesPerAppend: 4 });
    c.elect("a");
    const sizes: number[] = [];
    c.filter = (m) => {
      if (m.type === MessageType.App && m.entries.length > 0) sizes.push(m.entries.length);
      return true;
    };
    c.down.add("b");
    for (let i = 0; i < 10; i++) c.node("a").propose(text(`p${i}`));
    c.stabilize();
    c.down.delete("b");
    c.tickAll(6);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(c.appliedData("b")).toHaveLength(10);
  });
});
