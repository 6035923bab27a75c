import { SeededRandom } from "@corral/actors";
import { MemoryDurableLog, RawNode, type ConfState, type Entry, type NodeId, type RaftConfig, type RaftMessage, type ReadState } from "../src/index.js";

export function config(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id,
    electionTicksMin: 10,
    electionTicksMax: 20,
    heartbeatTicks: 1,
    preVote: false,
    checkQuorum: false,
    maxInflightAppends: 8,
    maxInflightBytes: 1 << 20,
    maxEntriesPerAppend: 64,
    maxBytesPerAppend: 1 << 16,
    maxUncommittedBytes: 1 << 20,
    snapshotChunkBytes: 16,
    ...overrides,
  };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A synchronous in-process cluster for unit tests: deliver, drop, stabilize. */
export class Cluster {
  readonly nodes = new Map<NodeId, RawNode>();
  readonly logs = new Map<NodeId, MemoryDurableLog>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly down = new Set<NodeId>();
  queue: RaftMessage[] = [];
  /** Return false to drop a message. */
  filter: (m: RaftMessage) => boolean = () => true;
  private readonly seed: number;

  constructor(
    ids: readonly NodeId[],
    readonly overrides: Partial<RaftConfig> = {},
    seed = 1,
    conf: ConfState = { voters: [...ids], learners: [] },
  ) {
    this.seed = seed;
    for (const id of ids) this.add(id, conf);
  }

  add(id: NodeId, conf: ConfState): RawNode {
    const log = this.logs.get(id) ?? new MemoryDurableLog({ autoSync: false });
    this.logs.set(id, log);
    const node = new RawNode(config(id, this.overrides), log.recovered(), conf, new SeededRandom(this.seed * 1000 + this.nodes.size + id.length));
    this.nodes.set(id, node);
    if (!this.applied.has(id)) this.applied.set(id, []);
    this.readStates.set(id, []);
    this.down.delete(id);
    return node;
  }

  node(id: NodeId): RawNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Drain one node's Ready: persist, sync, queue messages, apply, advance. */
  process(id: NodeId): boolean {
    const n = this.node(id);
    if (this.down.has(id) || !n.hasReady()) return false;
    const rd = n.ready();
    const log = this.logs.get(id) as MemoryDurableLog;
    if (rd.snapshot !== undefined) log.writeSnapshot(rd.snapshot);
    log.write(rd.hardState === undefined ? { entries: rd.entries } : { hardState: rd.hardState, entries: rd.entries });
    log.syncAll();
    this.queue.push(...rd.messages, ...rd.messagesAfterPersist);
    const applied = this.applied.get(id) as Entry[];
    if (rd.snapshot !== undefined) applied.length = 0;
    applied.push(...rd.committedEntries);
    (this.readStates.get(id) as ReadState[]).push(...rd.readStates);
    n.advance(rd);
    return true;
  }

  deliverAll(): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) {
      if (this.down.has(m.to) || this.down.has(m.from) || !this.filter(m)) continue;
      const target = this.nodes.get(m.to);
      if (target === undefined) continue;
      target.step(m);
      n++;
    }
    return n;
  }

  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      let busy = false;
      for (const id of this.nodes.keys()) busy = this.process(id) || busy;
      if (this.queue.length === 0 && !busy) return;
      this.deliverAll();
    }
    throw new Error("cluster did not stabilize");
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
  }

  tickAll(times: number): void {
    for (let i = 0; i < times; i++) {
      for (const [id, n] of this.nodes) if (!this.down.has(id)) n.tick();
      this.stabilize();
    }
  }

  elect(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  leader(): NodeId | null {
    for (const [id, n] of this.nodes) if (!this.down.has(id) && n.status().role === "leader") return id;
    return null;
  }

  /** Restart a node from its durable log (synced writes only). */
  restart(id: NodeId, conf: ConfState): RawNode {
    this.applied.set(id, []);
    return this.add(id, conf);
  }

  appliedData(id: NodeId): string[] {
    return (this.applied.get(id) as Entry[]).filter((e) => e.type === 0).map((e) => str(e.data));
  }
}

/** A lone node driven by hand: collects everything it emits. */
export function lone(id: NodeId, voters: NodeId[], overrides: Partial<RaftConfig> = {}, seed = 7) {
  const log = new MemoryDurableLog({ autoSync: false });
  const node = new RawNode(config(id, overrides), log.recovered(), { voters, learners: [] }, new SeededRandom(seed));
  return { node, log };
}
