/**
 * Deterministic Raft simulation (TigerBeetle VOPR style): 3 or 5 RawNodes in
 * one process on a discrete tick clock, a seeded network (loss, duplication,
 * reordering, delay, partitions), crashes that lose unsynced writes (sometimes
 * leaving a torn tail), restarts and per-node clock drift. Safety invariants
 * are checked after every step; a liveness phase follows once faults heal.
 * One seed reproduces the whole run; the trace hash proves it.
 */
import { SeededRandom } from "@corral/actors";
import {
  DecodeError,
  EntryType,
  MemoryDurableLog,
  RawNode,
  decodeRaftMessage,
  encodeRaftMessage,
  type ConfState,
  type Entry,
  type NodeId,
  type RaftConfig,
  type RaftMessage,
  type Ready,
  type Snapshot,
} from "@corral/consensus";

export const FaultKind = {
  Loss: "loss",
  Duplication: "duplication",
  Delay: "delay",
  PartitionHalves: "partitionHalves",
  IsolateLeader: "isolateLeader",
  Asymmetric: "asymmetric",
  Crash: "crash",
  TornTail: "tornTail",
  Drift: "drift",
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

export interface RaftSimOptions {
  readonly seed: number;
  /** 3 or 5; default chosen by the seed. */
  readonly nodes?: 3 | 5;
  readonly safetyTicks?: number;
  readonly livenessTicks?: number;
  readonly plantedBug?: "commitWithoutQuorum";
}

export interface RaftSimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly ok: boolean;
  readonly failure?: string;
  readonly failedAtTick?: number;
  readonly traceHash: string;
  readonly faults: readonly FaultKind[];
  readonly stats: { readonly ticks: number; readonly delivered: number; readonly committed: number; readonly elections: number; readonly crashes: number; readonly snapshotsInstalled: number };
}

class SafetyViolation extends Error {}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fnv(h: number, x: number): number {
  h ^= x & 0xffff;
  h = Math.imul(h, 16777619);
  h ^= x >>> 16;
  return Math.imul(h, 16777619) >>> 0;
}

function bytesHash(b: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 16777619);
  return h >>> 0;
}

function entryKey(e: Entry): number {
  return fnv(bytesHash(e.data), e.type);
}

interface SimNode {
  readonly id: NodeId;
  raw: RawNode | null;
  readonly log: MemoryDurableLog;
  readonly tickRate: number;
  tickCredit: number;
  persisting: { rd: Ready; ticket: number; syncAt: number } | null;
  /** The replicated state machine: a running hash of applied entries. */
  smIndex: number;
  smHash: number;
  lastCommit: number;
  lastApplied: number;
  recordedCommit: number;
  downUntil: number;
  wasLeaderTerm: number;
}

const RING = 64;

export function runRaftSim(options: RaftSimOptions): RaftSimResult {
  const rng = new SeededRandom(options.seed);
  const nodeCount = options.nodes ?? (rng.chance(0.5) ? 3 : 5);
  const safetyTicks = options.safetyTicks ?? 1200;
  const livenessTicks = options.livenessTicks ?? 1500;
  const net = rng.fork("net");
  const faultRng = rng.fork("faults");
  const ids = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  const conf: ConfState = { voters: ids, learners: [] };

  // Each seed draws a fault profile; across seeds every kind is exercised.
  const faults = new Set<FaultKind>();
  const lossRate = faultRng.chance(0.6) ? [0.01, 0.05, 0.15][faultRng.int(3)] as number : 0;
  if (lossRate > 0) faults.add(FaultKind.Loss);
  const dupRate = faultRng.chance(0.5) ? [0.01, 0.05][faultRng.int(2)] as number : 0;
  if (dupRate > 0) faults.add(FaultKind.Duplication);
  let maxDelay = faultRng.chance(0.6) ? 2 + faultRng.int(12) : 1;
  if (maxDelay > 1) faults.add(FaultKind.Delay);
  const partitions = faultRng.chance(0.7);
  const crashes = faultRng.chance(0.6);
  const torn = crashes && faultRng.chance(0.5);
  const drift = faultRng.chance(0.5);
  if (drift) faults.add(FaultKind.Drift);
  const maxSyncDelay = faultRng.int(4);
  const preVote = faultRng.chance(0.5);

  const config = (id: NodeId): RaftConfig => ({
    id,
    electionTicksMin: 10,
    electionTicksMax: 20,
    heartbeatTicks: 2,
    preVote,
    checkQuorum: true,
    maxInflightAppends: 4,
    maxInflightBytes: 64 * 1024,
    maxEntriesPerAppend: 8,
    maxBytesPerAppend: 4096,
    maxUncommittedBytes: 64 * 1024,
    snapshotChunkBytes: 8,
    ...(options.plantedBug === undefined ? {} : { unsafePlantedBug: options.plantedBug }),
  });
  const configs = new Map(ids.map((id) => [id, config(id)]));

  const nodes: SimNode[] = ids.map((id) => ({
    id,
    raw: null,
    log: new MemoryDurableLog({ autoSync: false, maxPendingWrites: 1 << 20 }),
    tickRate: drift ? [1, 1, 1.2, 1.5][faultRng.int(4)] as number : 1,
    tickCredit: 0,
    persisting: null,
    smIndex: 0,
    smHash: 0,
    lastCommit: 0,
    lastApplied: 0,
    recordedCommit: 0,
    downUntil: 0,
    wasLeaderTerm: -1,
  }));
  const byId = new Map(nodes.map((n) => [n.id, n]));

  // ---- global knowledge for the checkers
  const leaderOfTerm = new Map<number, NodeId>();
  const committedTerm: number[] = [0]; // index -> term of the committed entry
  const committedKey: number[] = [0];
  const smHashAt: number[] = [0];
  const logRegistry = new Map<string, { key: number; prevTerm: number }>();
  let maxCommitted = 0;
  let traceHash = 2166136261 ^ options.seed;
  let now = 0;
  let delivered = 0;
  let elections = 0;
  let crashCount = 0;
  let snapshotsInstalled = 0;
  let proposalCounter = 0;
  const pendingReads = new Map<string, number>();
  /** Liveness proposals -> the index they were applied at (a node has one once its state machine passed it, by entry or snapshot). */
  const appliedDataIndex = new Map<string, number>();
  const hasApplied = (n: SimNode, data: string) => {
    const index = appliedDataIndex.get(data);
    return index !== undefined && n.raw !== null && n.smIndex >= index;
  }; // read context -> max commit when requested

  const fail = (msg: string): never => {
    throw new SafetyViolation(msg);
  };

  const ring: RaftMessage[][] = Array.from({ length: RING }, () => []);
  const blocked = new Set<string>();

  const startNode = (n: SimNode) => {
    const recovered = n.log.recovered();
    n.raw = new RawNode(configs.get(n.id) as RaftConfig, recovered, conf, rng.fork(`node-${n.id}-${now}`));
    const snap = recovered.snapshot;
    if (snap === null) {
      n.smIndex = 0;
      n.smHash = 0;
    } else {
      const [index, hash] = JSON.parse(decoder.decode(snap.data)) as [number, number];
      n.smIndex = index;
      n.smHash = hash;
    }
    n.lastCommit = n.raw.basicStatus().commit;
    n.lastApplied = n.raw.basicStatus().applied;
    n.recordedCommit = Math.max(n.recordedCommit, 0);
    n.persisting = null;
    n.tickCredit = 0;
    n.wasLeaderTerm = -1;
  };

  const crashNode = (n: SimNode) => {
    n.raw = null;
    n.persisting = null;
    n.log.crash({ loseUnsynced: true, tornTail: torn && faultRng.chance(0.5), random: faultRng });
    n.downUntil = now + 20 + faultRng.int(150);
    crashCount++;
    faults.add(FaultKind.Crash);
    if (torn) faults.add(FaultKind.TornTail);
  };

  let lossNow = lossRate;
  let dupNow = dupRate;
  const send = (m: RaftMessage) => {
    if (net.chance(lossNow)) return;
    let msg = m;
    if (net.chance(0.02)) {
      // Round-trip a sample through the wire codec: it must decode to an equal message.
      const decoded = decodeRaftMessage(encodeRaftMessage(m));
      if (decoded instanceof DecodeError) fail(`codec rejected a valid ${m.type}: ${decoded.reason}`);
      msg = decoded as RaftMessage;
    }
    const delay = maxDelay <= 1 ? 1 : 1 + net.int(maxDelay);
    (ring[(now + delay) % RING] as RaftMessage[]).push(msg);
    if (net.chance(dupNow)) (ring[(now + 1 + net.int(Math.max(1, maxDelay))) % RING] as RaftMessage[]).push(msg);
  };

  // ---- per-node checks

  const recordCommits = (n: SimNode, raw: RawNode) => {
    const st = raw.basicStatus();
    if (st.commit < n.lastCommit) fail(`${n.id}: commit went back ${n.lastCommit} -> ${st.commit}`);
    if (st.applied < n.lastApplied) fail(`${n.id}: applied went back ${n.lastApplied} -> ${st.applied}`);
    if (st.applied > st.commit) fail(`${n.id}: applied ${st.applied} > commit ${st.commit}`);
    n.lastCommit = st.commit;
    n.lastApplied = st.applied;
    // State-machine safety at commit: every node commits the same entry at an index.
    const from = Math.max(st.firstIndex, 1);
    for (let i = Math.max(from, 1); i <= st.commit; i++) {
      if (i <= n.recordedCommit && i <= maxCommitted && committedTerm[i] !== undefined) continue;
      const e = raw.entryAt(i);
      if (e === undefined) continue;
      const known = committedTerm[i];
      if (known === undefined) {
        committedTerm[i] = e.term;
        committedKey[i] = entryKey(e);
        if (i > maxCommitted) maxCommitted = i;
      } else if (known !== e.term || committedKey[i] !== entryKey(e)) {
        fail(`${n.id}: committed entry ${i} has term ${e.term}, another node committed term ${known}`);
      }
    }
    n.recordedCommit = Math.max(n.recordedCommit, st.commit);
  };

  const checkLeader = (n: SimNode, raw: RawNode) => {
    const st = raw.basicStatus();
    if (st.role !== "leader" || n.wasLeaderTerm === st.term) return;
    n.wasLeaderTerm = st.term;
    elections++;
    const other = leaderOfTerm.get(st.term);
    if (other !== undefined && other !== n.id) fail(`two leaders in term ${st.term}: ${other} and ${n.id}`);
    leaderOfTerm.set(st.term, n.id);
    // Leader completeness: every committed entry is in the new leader's log.
    for (let i = st.firstIndex; i <= maxCommitted; i++) {
      const t = committedTerm[i];
      if (t === undefined) continue;
      if (raw.termAt(i) !== t) fail(`leader completeness: ${n.id} leads term ${st.term} without committed entry ${i} (term ${t}), has ${raw.termAt(i)}`);
    }
  };

  const checkAppended = (raw: RawNode, entries: readonly Entry[]) => {
    // Log matching: (index, term) identifies the entry and its predecessor's term, inductively the whole prefix.
    let prevTerm = entries.length > 0 ? raw.termAt((entries[0] as Entry).index - 1) : undefined;
    for (const e of entries) {
      const k = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const seen = logRegistry.get(k);
      if (seen === undefined) {
        if (prevTerm !== undefined) logRegistry.set(k, { key, prevTerm });
      } else if (seen.key !== key || (prevTerm !== undefined && seen.prevTerm !== prevTerm)) {
        fail(`log matching: two different entries at index ${e.index} term ${e.term}`);
      }
      prevTerm = e.term;
    }
  };

  const apply = (n: SimNode, rd: Ready) => {
    if (rd.snapshot !== undefined) installSnapshot(n, rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.index <= n.smIndex) continue;
      if (e.index !== n.smIndex + 1) fail(`${n.id}: applied ${e.index} after ${n.smIndex}`);
      n.smIndex = e.index;
      n.smHash = fnv(n.smHash, entryKey(e));
      const known = smHashAt[e.index];
      if (known === undefined) smHashAt[e.index] = n.smHash;
      else if (known !== n.smHash) fail(`state machine safety: ${n.id} diverges at applied index ${e.index}`);
      if (e.type === EntryType.Normal && e.data[0] === 76 /* "L" */) appliedDataIndex.set(decoder.decode(e.data), e.index);
    }
    for (const r of rd.readStates) {
      const ctx = decoder.decode(r.requestContext);
      const floor = pendingReads.get(ctx);
      if (floor !== undefined && r.index < floor) fail(`ReadIndex ${ctx} returned ${r.index} below commit ${floor} known when requested`);
      pendingReads.delete(ctx);
    }
  };

  const installSnapshot = (n: SimNode, snap: Snapshot) => {
    const [index, hash] = JSON.parse(decoder.decode(snap.data)) as [number, number];
    if (index !== snap.meta.index) fail(`snapshot data index ${index} != meta ${snap.meta.index}`);
    const known = smHashAt[index];
    if (known !== undefined && known !== hash) fail(`${n.id}: installed snapshot at ${index} disagrees with applied state`);
    n.smIndex = index;
    n.smHash = hash;
    snapshotsInstalled++;
  };

  const processNode = (n: SimNode) => {
    const raw = n.raw;
    if (raw === null) return;
    if (n.persisting !== null && now >= n.persisting.syncAt) {
      const { rd, ticket } = n.persisting;
      n.log.syncThrough(ticket);
      n.persisting = null;
      for (const m of rd.messagesAfterPersist) send(m);
      apply(n, rd);
      raw.advance(rd);
      recordCommits(n, raw);
      checkLeader(n, raw);
    }
    if (n.persisting === null && raw.hasReady()) {
      const rd = raw.ready();
      checkAppended(raw, rd.entries);
      if (rd.snapshot !== undefined) n.log.writeSnapshot(rd.snapshot);
      const ticket = n.log.write(rd.hardState === undefined ? { entries: rd.entries } : { hardState: rd.hardState, entries: rd.entries });
      for (const m of rd.messages) send(m);
      recordCommits(n, raw);
      n.persisting = { rd, ticket, syncAt: now + (maxSyncDelay === 0 ? 0 : faultRng.int(maxSyncDelay + 1)) };
      if (n.persisting.syncAt <= now) processNode(n);
    }
  };

  const currentLeader = (): SimNode | null => {
    let best: SimNode | null = null;
    for (const n of nodes) {
      const st = n.raw?.basicStatus();
      if (st !== undefined && st.role === "leader" && (best === null || st.term > (best.raw as RawNode).basicStatus().term)) best = n;
    }
    return best;
  };

  const deliver = () => {
    const bucket = ring[now % RING] as RaftMessage[];
    ring[now % RING] = [];
    for (const m of bucket) {
      const target = byId.get(m.to);
      if (target === undefined || target.raw === null || blocked.has(`${m.from}>${m.to}`)) continue;
      target.raw.step(m);
      delivered++;
    }
  };

  const changeFaults = (allowFaults: boolean) => {
    blocked.clear();
    if (!allowFaults) return;
    const r = faultRng.int(4);
    if (r === 0) {
      // random halves
      const side = new Set(ids.filter(() => faultRng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) blocked.add(`${a}>${b}`);
      faults.add(FaultKind.PartitionHalves);
    } else if (r === 1) {
      const l = currentLeader();
      if (l !== null) {
        for (const b of ids) {
          if (b === l.id) continue;
          blocked.add(`${l.id}>${b}`);
          blocked.add(`${b}>${l.id}`);
        }
        faults.add(FaultKind.IsolateLeader);
      }
    } else if (r === 2) {
      // asymmetric: one node hears but is not heard (or the reverse)
      const a = ids[faultRng.int(ids.length)] as NodeId;
      const outbound = faultRng.chance(0.5);
      for (const b of ids) if (b !== a) blocked.add(outbound ? `${a}>${b}` : `${b}>${a}`);
      faults.add(FaultKind.Asymmetric);
    }
  };

  const stepWorld = (allowFaults: boolean, proposeRate: number) => {
    now++;
    if (allowFaults) {
      if (partitions && now % 97 === 0) changeFaults(true);
      if (crashes && faultRng.chance(0.004)) {
        const up = nodes.filter((n) => n.raw !== null);
        if (up.length > 0) crashNode(up[faultRng.int(up.length)] as SimNode);
      }
    }
    for (const n of nodes) if (n.raw === null && (now >= n.downUntil || !allowFaults)) startNode(n);
    for (const n of nodes) {
      const raw = n.raw;
      if (raw === null) continue;
      n.tickCredit += n.tickRate;
      while (n.tickCredit >= 1) {
        n.tickCredit -= 1;
        raw.tick();
      }
      checkLeader(n, raw);
    }
    deliver();
    // The client workload: proposals, reads, compaction, transfers.
    if (proposeRate > 0 && faultRng.chance(proposeRate)) {
      const l = currentLeader();
      if (l !== null) (l.raw as RawNode).propose(encoder.encode(`p${options.seed}-${proposalCounter++}`));
    }
    if (faultRng.chance(0.01)) {
      const n = nodes[faultRng.int(nodes.length)] as SimNode;
      if (n.raw !== null) {
        const ctx = `r${now}-${n.id}`;
        pendingReads.set(ctx, maxCommitted);
        n.raw.readIndex(encoder.encode(ctx));
      }
    }
    if (allowFaults && faultRng.chance(0.003)) {
      const l = currentLeader();
      if (l !== null) l.raw?.transferLeadership(ids[faultRng.int(ids.length)] as NodeId);
    }
    for (const n of nodes) {
      const raw = n.raw;
      if (raw === null) continue;
      const st = raw.basicStatus();
      if (n.persisting === null && st.applied - st.firstIndex > 30 && faultRng.chance(0.05) && n.smIndex === st.applied) {
        const snap = raw.compact(st.applied, encoder.encode(JSON.stringify([n.smIndex, n.smHash])));
        if (!(snap instanceof Error)) n.log.writeSnapshot(snap);
      }
    }
    for (const n of nodes) {
      processNode(n);
      const raw = n.raw;
      if (raw !== null) {
        const st = raw.basicStatus();
        traceHash = fnv(fnv(fnv(traceHash, st.term), st.commit), st.role.length);
      }
    }
  };

  for (const n of nodes) startNode(n);
  let phase = "safety";
  try {
    for (let t = 0; t < safetyTicks; t++) stepWorld(true, 0.15);
    // ---- liveness: heal everything, then a leader must emerge and each proposal must commit everywhere.
    phase = "liveness";
    // Healed: no partitions, crashes or loss, and delays well below the election timeout
    // (Raft's timing requirement broadcastTime << electionTimeout).
    blocked.clear();
    maxDelay = Math.min(maxDelay, 3);
    lossNow = 0;
    dupNow = Math.min(dupRate, 0.01);
    const healAt = now;
    const settle = (): SimNode => {
      for (let i = 0; i < 400; i++) {
        stepWorld(false, 0);
        const l = currentLeader();
        if (l !== null && nodes.every((n) => n.raw?.basicStatus().leaderId === l.id && n.raw.basicStatus().term === (l.raw as RawNode).basicStatus().term)) return l;
      }
      return fail(`liveness: no stable leader ${now - healAt} ticks after healing: ${nodes.map((n) => JSON.stringify(n.raw?.status() ?? "down")).join(" ")}`);
    };
    for (let k = 0; k < 5; k++) {
      const data = `L${options.seed}-${k}`;
      // Propose at the leader; re-propose if leadership moves before it commits (a client would retry).
      let proposedAt: { leader: NodeId; term: number } | null = null;
      const deadline = now + 300;
      while (!nodes.every((n) => hasApplied(n, data))) {
        if (now >= deadline) fail(`liveness: proposal ${data} not applied on every node within 300 ticks: ${nodes.map((n) => `${hasApplied(n, data)} ${n.persisting === null ? "idle" : "persisting"} ${JSON.stringify(n.raw?.status() ?? "down")}`).join(" ")}`);
        const l: SimNode | null = proposedAt === null ? settle() : currentLeader();
        const lst: { term: number } | undefined = l?.raw?.basicStatus();
        if (l !== null && lst !== undefined && (proposedAt === null || proposedAt.leader !== l.id || proposedAt.term !== lst.term)) {
          const r = (l.raw as RawNode).propose(encoder.encode(data));
          if (r.ok) proposedAt = { leader: l.id, term: lst.term };
        }
        stepWorld(false, 0);
      }
      if (now - healAt > livenessTicks) fail(`liveness: phase exceeded ${livenessTicks} ticks`);
    }
  } catch (e) {
    if (!(e instanceof SafetyViolation) && !(e instanceof Error && e.name === "InvariantViolation")) throw e;
    return {
      seed: options.seed,
      nodes: nodeCount,
      ok: false,
      failure: `${phase}: ${e.message}`,
      failedAtTick: now,
      traceHash: traceHash.toString(16),
      faults: [...faults],
      stats: { ticks: now, delivered, committed: maxCommitted, elections, crashes: crashCount, snapshotsInstalled },
    };
  }
  return {
    seed: options.seed,
    nodes: nodeCount,
    ok: true,
    traceHash: traceHash.toString(16),
    faults: [...faults],
    stats: { ticks: now, delivered, committed: maxCommitted, elections, crashes: crashCount, snapshotsInstalled },
  };
}

