/**
 * Issue 15 item 1: a full mailbox must never stall a node. The raft actor runs
 * here on its own ActorSystem (real RawNode core, MemoryDurableLog, stub
 * applier and sessions actors) so a test can flood its mailbox at exactly the
 * moment that used to lose a progress-critical message: the `persisted` reply
 * of an in-flight save, a `tick` timer firing, a `storageFailed` report.
 * Timing is all on the simulated clock; the interleaved executor mode lets a
 * timer fire between two drains of one backlog, as it does live.
 */
import { describe, expect, it } from "vitest";
import { ActorSystem, SimScheduler, nullLogger, type ActorRef, type ExecutorMode } from "@corral/actors";
import { EntryType, MemoryDurableLog, type DurableBatch, type DurableLog, type Entry, type RecoveredState, type Snapshot } from "@corral/consensus";
import { applierActor, type ApplierMessage, type SessionsFeed } from "../src/applier-actor.js";
import { resolveNodeConfig } from "../src/config.js";
import { encodeEntryData } from "../src/entry-data.js";
import { newCounters, type NodeView } from "../src/node-view.js";
import { raftActor, type RaftActorMessage } from "../src/raft-actor.js";
import { rawNodeFactory } from "../src/raft-core-raw-node.js";
import { treeStateMachineFactory } from "../src/tree-state-machine.js";
import type { RoutedMessage } from "../src/ports.js";

type Message = RaftActorMessage<RoutedMessage>;

async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 16; i++) await Promise.resolve();
}

interface Harness {
  readonly sim: SimScheduler;
  readonly system: ActorSystem;
  readonly raft: ActorRef<Message>;
  readonly view: NodeView;
  readonly applied: Entry[];
  readonly fatal: unknown[];
  /** Steps the simulation (microtasks drained between events, as the ensembles do) until `predicate` or `maxMs`. */
  runUntil(predicate: () => boolean, maxMs: number): Promise<boolean>;
  /** Fill the raft actor's mailbox from outside until it refuses; returns how many went in. */
  flood(): number;
}

async function raftHarness(options: {
  readonly seed: number;
  readonly peers?: readonly string[];
  readonly mailboxCapacity: number;
  readonly executorMode?: ExecutorMode;
  readonly durableLog?: DurableLog;
}): Promise<Harness> {
  const sim = new SimScheduler(options.seed, options.executorMode === undefined ? {} : { executorMode: options.executorMode });
  const peers = options.peers ?? ["n1"];
  const clock = sim.clockFor("n1");
  const config = resolveNodeConfig({ nodeId: "n1", peers: [...peers] });
  const durableLog = options.durableLog ?? new MemoryDurableLog();
  const recovered = await durableLog.load();
  const core = rawNodeFactory().create({
    id: "n1",
    peers,
    recovered,
    random: sim.random.fork("raft"),
    logger: nullLogger,
    electionTicks: config.electionTicks,
    heartbeatTicks: config.heartbeatTicks,
  });
  const view: NodeView = {
    raft: core.status(),
    appliedIndex: 0,
    stateMachine: treeStateMachineFactory().create(),
    connections: 0,
    sessionsHere: 0,
    counters: newCounters(),
    requestDone: undefined,
  };
  const system = new ActorSystem({ nodeId: "n1", clock, random: sim.random.fork("actors"), logger: nullLogger, executor: sim.schedule, mailboxCapacity: options.mailboxCapacity });
  const applied: Entry[] = [];
  system.spawn<{ type: string; entries?: readonly Entry[] }>("applier", {
    receive(_context, message) {
      if (message.type === "apply") applied.push(...message.entries!);
    },
  });
  system.spawn<unknown>("sessions", { receive() {} });
  const fatal: unknown[] = [];
  const raft = system.spawn<Message>(
    "raft",
    raftActor({ config, core, durableLog, clock, random: sim.random.fork("raft-actor"), view, onFatal: (error) => void fatal.push(error) }),
  );
  const runUntil = async (predicate: () => boolean, maxMs: number): Promise<boolean> => {
    const until = sim.now() + maxMs;
    for (;;) {
      await drainMicrotasks();
      if (predicate()) return true;
      if (sim.now() >= until || !sim.step()) return predicate();
    }
  };
  const flood = (): number => {
    let queued = 0;
    while (raft.tell({ type: "propose", commands: [] })) queued++;
    return queued;
  };
  return { sim, system, raft, view, applied, fatal, runUntil, flood };
}

const noop = { kind: "txn", txn: { type: "noop" } } as const;

describe("robustness: a full mailbox never stalls the raft actor (issue 15 item 1)", () => {
  it("a single-voter leader keeps committing when its mailbox is flooded while a save is in flight (the persisted reply is never lost)", async () => {
    const harness = await raftHarness({ seed: 1501, mailboxCapacity: 256 });
    expect(await harness.runUntil(() => harness.view.raft.role === "leader" && harness.view.raft.commitIndex === harness.view.raft.lastIndex, 5_000)).toBe(true);
    const before = harness.view.raft.commitIndex;
    const appliedBefore = harness.applied.length;

    // 63 proposals; the drain that handles them starts a save (a promise that settles as a microtask) ...
    for (let i = 0; i < 63; i++) expect(harness.raft.tell({ type: "propose", commands: [noop] })).toBe(true);
    while (harness.sim.step()) if (harness.sim.now() > 0 && harness.view.raft.lastIndex > before) break;
    expect(harness.view.raft.lastIndex).toBeGreaterThan(before);
    // ... and before it settles the mailbox fills up, so the `persisted` reply meets a full mailbox.
    expect(harness.flood()).toBeGreaterThan(0);

    const target = before + 63;
    const done = await harness.runUntil(() => harness.view.raft.commitIndex >= target && harness.applied.length - appliedBefore >= 63, 10_000);
    expect({ commitIndex: harness.view.raft.commitIndex, applied: harness.applied.length - appliedBefore }).toEqual({ commitIndex: target, applied: 63 });
    expect(done).toBe(true);
    // Later proposals still commit: the node did not wedge.
    harness.raft.tell({ type: "propose", commands: [noop, noop] });
    expect(await harness.runUntil(() => harness.view.raft.commitIndex >= target + 2, 1_000)).toBe(true);
    expect(harness.fatal).toEqual([]);
  });

  it("a tick that falls due while the mailbox is full is not lost: the raft clock keeps running and the node is elected", async () => {
    // Interleaved drains: timers fire between drains, so a tick can meet the flood.
    const harness = await raftHarness({ seed: 1502, mailboxCapacity: 64, executorMode: { kind: "interleaved", drainDelayMsMax: 2 } });
    let flooding = true;
    let floods = 0;
    const refill = (): void => {
      if (!flooding) return;
      floods++;
      harness.flood();
      harness.sim.after(0.5, "flood", refill);
    };
    refill();
    // An overload long enough to cover many ticks (tickMs 10), then nothing.
    await harness.runUntil(() => false, 400);
    flooding = false;
    expect(floods).toBeGreaterThan(100);
    expect(harness.system.stats().mailboxOverflows).toBeGreaterThan(0);

    // The node must still tick: a single voter elects itself within a few election timeouts (during or after the flood).
    expect(await harness.runUntil(() => harness.view.raft.role === "leader", 5_000)).toBe(true);
    // Ticks (and drives) did meet the full mailbox: they were queued above its ordinary bound.
    expect(harness.system.stats().reservedAdmissions).toBeGreaterThan(0);
    expect(harness.system.stats().reserveExhausted).toBe(0);
    expect(harness.fatal).toEqual([]);
  });

  it("a storage failure reported while the mailbox is full still stops the node (storageFailed is never lost)", async () => {
    const memory = new MemoryDurableLog();
    let failSaves = false;
    const failing: DurableLog = {
      load: (): Promise<RecoveredState> => memory.load(),
      save: (batch: DurableBatch) => (failSaves ? Promise.reject(new Error("EIO: disk failed")) : memory.save(batch)),
      saveSnapshot: (snapshot: Snapshot) => memory.saveSnapshot(snapshot),
      compact: (index: number) => memory.compact(index),
      close: () => memory.close(),
    };
    const harness = await raftHarness({ seed: 1503, mailboxCapacity: 128, durableLog: failing });
    expect(await harness.runUntil(() => harness.view.raft.role === "leader", 5_000)).toBe(true);
    failSaves = true;
    const before = harness.view.raft.lastIndex;
    harness.raft.tell({ type: "propose", commands: [noop] });
    while (harness.sim.step()) if (harness.view.raft.lastIndex > before) break;
    expect(harness.flood()).toBeGreaterThan(0);
    expect(await harness.runUntil(() => harness.fatal.length > 0, 5_000)).toBe(true);
    expect(String(harness.fatal[0])).toContain("EIO");
  });

  it("the applier's feed is never lost to a sessions mailbox full of client traffic (results and watch events stay complete)", () => {
    const sim = new SimScheduler(1504);
    // Drains run only when the test says so, so the sessions mailbox is exactly as full as the flood left it.
    const drains: (() => void)[] = [];
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger: nullLogger, executor: (task) => drains.push(task), mailboxCapacity: 16 });
    const config = resolveNodeConfig({ nodeId: "n1", peers: ["n1"] });
    const stateMachine = treeStateMachineFactory().create();
    const view: NodeView = { raft: { id: "n1", role: "leader", term: 1, leader: "n1", commitIndex: 0, lastIndex: 0, matchIndex: {} }, appliedIndex: 0, stateMachine, connections: 0, sessionsHere: 0, counters: newCounters(), requestDone: undefined };
    const feeds: SessionsFeed[] = [];
    const sessions = system.spawn<SessionsFeed | { type: "frame" }>("sessions", {
      receive(_context, message) {
        if (message.type !== "frame") feeds.push(message);
      },
    });
    const applier = system.spawn<ApplierMessage>("applier", applierActor({ config, stateMachine, view, initialIndex: 0 }));
    system.spawn<unknown>("raft", { receive() {} });
    // The entries arrive first; then client frames fill the sessions mailbox before the applier runs.
    const entries: Entry[] = [1, 2, 3].map((index) => ({ term: 1, index, type: EntryType.Normal, data: encodeEntryData({ timeMs: 0, txn: { type: "noop" } }) }));
    expect(applier.tell({ type: "apply", entries })).toBe(true);
    let flooded = 0;
    while (sessions.tell({ type: "frame" })) flooded++;
    expect(flooded).toBe(16);
    for (let task = drains.shift(); task !== undefined; task = drains.shift()) task();
    expect(feeds.filter((f) => f.type === "applied").map((f) => (f.type === "applied" ? f.index : 0))).toEqual([3]);
    expect(system.stats().reservedAdmissions).toBe(1);
  });
});
