import type { Random } from "@corral/actors";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange, isValidNodeId, type ConfChange } from "./conf-change.js";
import { InvariantViolation, NotLeaderError, ProposalDroppedError, ProposalDropReason, CompactError, invariant } from "./errors.js";
import { MessageType, type MsgApp, type MsgAppResp, type MsgHeartbeat, type MsgSnap, type MsgSnapResp, type MsgVote, type MsgVoteResp, type ProposedEntry, type RaftMessage } from "./messages.js";
import { Progress, ProgressState } from "./progress.js";
import { allVoters, isVoter, jointCommitted, jointVoteResult, VoteResult } from "./quorum.js";
import { RaftLog, entryBytes } from "./raft-log.js";
import { EntryType, type ConfState, type Entry, type HardState, type NodeId, type RecoveredState, type Snapshot } from "./types.js";

export interface RaftConfig {
  readonly id: NodeId;
  /** Randomized election timeout range in ticks; also the check-quorum / leader-lease window (min). */
  readonly electionTicksMin: number;
  readonly electionTicksMax: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** In-flight MsgApp window per follower, by count and by bytes. */
  readonly maxInflightAppends: number;
  readonly maxInflightBytes: number;
  /** Batching limits of one MsgApp; also the largest single entry accepted. */
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
  /** Leader refuses proposals while this many bytes are appended but uncommitted (one entry always fits). */
  readonly maxUncommittedBytes: number;
  /** InstallSnapshot chunk size. */
  readonly snapshotChunkBytes: number;
  /** Largest snapshot a follower will reassemble (default 256 MiB). */
  readonly maxSnapshotBytes?: number;
  /** ReadIndex requests waiting at the leader (default 4096); more are dropped and counted. */
  readonly maxPendingReadIndex?: number;
  /** Committed entries handed out per Ready (default 4096). */
  readonly maxCommittedEntriesPerReady?: number;
  /**
   * TEST ONLY, never set in production: plants a known bug so the simulation
   * can prove its checker catches it. "commitWithoutQuorum": the leader
   * commits as soon as its own log has an entry.
   */
  readonly unsafePlantedBug?: "commitWithoutQuorum";
}

export const Role = {
  Follower: "follower",
  PreCandidate: "preCandidate",
  Candidate: "candidate",
  Leader: "leader",
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface ReadState {
  readonly index: number;
  readonly requestContext: Uint8Array;
}

export interface SoftState {
  readonly leaderId: NodeId | null;
  readonly role: Role;
}

export interface Ready {
  readonly hardState?: HardState;
  /** Entries to persist; if the first one's index <= the last stored index, the stored suffix is replaced. */
  readonly entries: readonly Entry[];
  /** A snapshot from the leader to persist and install in the state machine (before applying committedEntries). */
  readonly snapshot?: Snapshot;
  /** May be sent at once. */
  readonly messages: readonly RaftMessage[];
  /** Send only once this batch (hard state, entries, snapshot) is durable. */
  readonly messagesAfterPersist: readonly RaftMessage[];
  /** Apply after the batch is durable, in order. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly softState?: SoftState;
}

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly error: NotLeaderError | ProposalDroppedError };

export type ForwardResult = { readonly ok: true; readonly leaderId: NodeId } | { readonly ok: false; readonly error: NotLeaderError };

export interface PeerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly inflightAppends: number;
  readonly learner: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly role: Role;
  readonly leaderId: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly persistedIndex: number;
  readonly conf: ConfState;
  readonly leadTransferee: NodeId | null;
  /** Only on the leader. */
  readonly progress?: Readonly<Record<NodeId, PeerStatus>>;
  /** Inputs dropped, by reason (stale terms, malformed, limits, no leader ...). */
  readonly dropped: Readonly<Record<string, number>>;
}

interface PendingRead {
  readonly seq: number;
  readonly index: number;
  readonly context: Uint8Array;
  readonly from: NodeId;
}

interface IncomingSnapshot {
  readonly from: NodeId;
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  received: number;
}

const DEFAULT_MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

function validateConfig(c: RaftConfig): void {
  const positive = (name: string, v: number) => invariant(Number.isInteger(v) && v > 0, () => `RaftConfig.${name} must be a positive integer, got ${v}`);
  invariant(isValidNodeId(c.id), "RaftConfig.id must be a non-empty node id");
  positive("electionTicksMin", c.electionTicksMin);
  positive("electionTicksMax", c.electionTicksMax);
  positive("heartbeatTicks", c.heartbeatTicks);
  positive("maxInflightAppends", c.maxInflightAppends);
  positive("maxInflightBytes", c.maxInflightBytes);
  positive("maxEntriesPerAppend", c.maxEntriesPerAppend);
  positive("maxBytesPerAppend", c.maxBytesPerAppend);
  positive("maxUncommittedBytes", c.maxUncommittedBytes);
  positive("snapshotChunkBytes", c.snapshotChunkBytes);
  invariant(c.electionTicksMax >= c.electionTicksMin, "RaftConfig: electionTicksMax < electionTicksMin");
  invariant(c.heartbeatTicks < c.electionTicksMin, "RaftConfig: heartbeatTicks must be below electionTicksMin");
}

function sameConf(a: ConfState, b: ConfState): boolean {
  const eq = (x: readonly string[] | undefined, y: readonly string[] | undefined) => (x ?? []).length === (y ?? []).length && (x ?? []).every((v, i) => v === (y ?? [])[i]);
  return eq(a.voters, b.voters) && eq(a.learners, b.learners) && eq(a.votersOutgoing, b.votersOutgoing);
}

/**
 * Several successful append acks to one leader in one batch say no more than
 * the highest of them: within a term the leader never rewrites its entries, so
 * a lower ack stays true beside a higher one, and the leader keeps the maximum
 * anyway. Keep one (at the first one's place); rejections and other messages
 * pass unchanged. This halves a follower's frames when it got several appends
 * in one turn.
 */
function mergeAppendAcks(messages: RaftMessage[]): RaftMessage[] {
  let acks = 0;
  for (const m of messages) if (m.type === MessageType.AppResp && !m.reject) acks++;
  if (acks < 2) return messages;
  const out: RaftMessage[] = [];
  const kept = new Map<string, number>();
  for (const m of messages) {
    if (m.type !== MessageType.AppResp || m.reject) {
      out.push(m);
      continue;
    }
    const key = `${m.to}\u0000${m.term}`;
    const at = kept.get(key);
    if (at === undefined) {
      kept.set(key, out.length);
      out.push(m);
    } else if ((out[at] as MsgAppResp).index < m.index) {
      out[at] = m;
    }
  }
  return out;
}

/**
 * The Raft state machine (etcd raft.go + rawnode.go). No I/O, no clock: the
 * shell calls tick() on a timer, step() for every received message, and
 * drains ready() -> persist -> send -> apply -> advance().
 */
export class RawNode {
  readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly random: Random;
  private readonly maxSnapshotBytes: number;
  private readonly maxPendingReadIndex: number;
  private readonly maxCommittedEntriesPerReady: number;

  private term = 0;
  private vote: NodeId | null = null;
  private leaderId: NodeId | null = null;
  private role: Role = Role.Follower;
  private readonly log: RaftLog;
  private conf: ConfState;
  /** (index at which a configuration took effect, configuration), ascending; for snapshots at older indexes. */
  private confHistory: { index: number; conf: ConfState }[];

  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId | null = null;
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;

  private readSeq = 0;
  private readSeqBroadcast = 0;
  private pendingReads: PendingRead[] = [];
  private readsAwaitingCommit: { context: Uint8Array; from: NodeId }[] = [];
  private readAcks = new Map<NodeId, number>();
  /**
   * Leader: peers owed appends, sent once when the next Ready is built (value:
   * send even if there is nothing new, to carry the commit index). Proposals and
   * acks that arrive in one turn thus go out as one MsgApp per peer, not one each
   * (etcd batches a turn's proposals the same way).
   */
  private appendsOwed = new Map<NodeId, boolean>();
  private incomingSnapshot: IncomingSnapshot | null = null;

  private msgs: RaftMessage[] = [];
  private msgsAfterPersist: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private awaitingAdvance = false;
  private readonly droppedCounts: Record<string, number> = {};

  private stepRole: (m: RaftMessage) => void;
  private tickRole: () => void;

  constructor(config: RaftConfig, recovered: RecoveredState, initialConf: ConfState, random: Random) {
    validateConfig(config);
    this.id = config.id;
    this.config = config;
    this.random = random;
    this.maxSnapshotBytes = config.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
    this.maxPendingReadIndex = config.maxPendingReadIndex ?? 4096;
    this.maxCommittedEntriesPerReady = config.maxCommittedEntriesPerReady ?? 4096;
    this.log = new RaftLog(recovered.snapshot, recovered.entries);
    this.conf = recovered.snapshot?.meta.conf ?? initialConf;
    this.confHistory = [{ index: this.log.snapshotIndex, conf: this.conf }];
    const hs = recovered.hardState;
    if (hs !== null) {
      this.term = hs.term;
      this.vote = hs.vote;
      // A commit beyond what survived cannot be trusted to name our entries.
      const commit = Math.min(Math.max(hs.commit, this.log.snapshotIndex), this.log.lastIndex());
      this.log.commitTo(commit);
    }
    this.prevHardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.becomeFollower(this.term, null);
    this.prevSoftState = { leaderId: this.leaderId, role: this.role };
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.tickRole();
  }

  /** Feed one message from the network. Bad or stale input is dropped and counted, never thrown. */
  step(m: RaftMessage): void {
    if (m.to !== this.id || m.from === this.id || !isValidNodeId(m.from)) return this.drop("misaddressed");
    if (m.type === MessageType.Prop || m.type === MessageType.ReadIndex || m.type === MessageType.TransferLeader) {
      // Forwarded requests carry no term of their own.
      this.stepRole(m);
      return;
    }
    if (m.type === MessageType.App && !this.wellFormedAppend(m)) return this.drop("malformedAppend");
    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const inLease = this.config.checkQuorum && this.leaderId !== null && this.electionElapsed < this.config.electionTicksMin;
        if (!m.transfer && inLease) return this.drop("voteInLease");
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Granted pre-votes carry the candidate's future term; it bumps its own term when it wins.
      } else {
        const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === MessageType.App || m.type === MessageType.Heartbeat)) {
        // A stale leader cut off by a partition: tell it our term so it steps down
        // (with pre-vote it could not disrupt us by raising its own term).
        this.send({ type: MessageType.AppResp, from: this.id, to: m.from, term: this.term, index: 0, reject: false, conflictTerm: 0, conflictIndex: 0 });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, from: this.id, to: m.from, term: this.term, reject: true });
      }
      return this.drop("staleTerm");
    }
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    this.stepRole(m);
  }

  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntries([{ type: EntryType.Normal, data }]);
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== Role.Leader) return { ok: false, error: new NotLeaderError(this.leaderId) };
    if (this.pendingConfIndex > this.log.applied) {
      return { ok: false, error: new ProposalDroppedError(ProposalDropReason.ConfChangePending, `pending at ${this.pendingConfIndex}`) };
    }
    const problem = confChangeProblem(this.conf, cc);
    if (problem !== null) return { ok: false, error: new ProposalDroppedError(ProposalDropReason.InvalidConfChange, problem) };
    const result = this.proposeEntries([{ type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
    if (result.ok) this.pendingConfIndex = result.index;
    return result;
  }

  /** On a follower: send the proposal to the leader (it is appended there, or dropped and counted). */
  forwardProposal(data: Uint8Array): ForwardResult {
    if (this.leaderId === null || this.leaderId === this.id) return { ok: false, error: new NotLeaderError(this.leaderId) };
    this.send({ type: MessageType.Prop, from: this.id, to: this.leaderId, term: 0, entries: [{ type: EntryType.Normal, data }] });
    return { ok: true, leaderId: this.leaderId };
  }

  readIndex(requestContext: Uint8Array): void {
    if (this.role === Role.Leader) {
      this.leaderReadIndex(this.id, requestContext);
    } else if (this.leaderId !== null) {
      this.send({ type: MessageType.ReadIndex, from: this.id, to: this.leaderId, term: 0, context: requestContext });
    } else {
      this.drop("readIndexNoLeader");
    }
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== Role.Leader) {
      if (this.leaderId !== null) this.send({ type: MessageType.TransferLeader, from: this.id, to: this.leaderId, term: 0, transferee: to });
      else this.drop("transferNoLeader");
      return;
    }
    this.leaderTransfer(to);
  }

  /** Start an election now (pre-vote first if enabled). */
  campaign(): void {
    this.hup(false);
  }

  /**
   * The application captured its state at `index` (<= applied): drop the log
   * up to there. Returns the snapshot to hand to `DurableLog.saveSnapshot`.
   */
  compact(index: number, snapshotData: Uint8Array): Snapshot | CompactError {
    if (!Number.isInteger(index) || index <= this.log.snapshotIndex) return new CompactError(index, `already compacted to ${this.log.snapshotIndex}`);
    if (index > this.log.applied) return new CompactError(index, `not applied (applied ${this.log.applied})`);
    const term = this.log.term(index);
    if (term === undefined) return new CompactError(index, "not in the log");
    const snapshot: Snapshot = { meta: { index, term, conf: this.confAt(index) }, data: snapshotData };
    this.log.compact(snapshot);
    let keep = 0;
    for (let i = 0; i < this.confHistory.length; i++) if ((this.confHistory[i] as { index: number }).index <= index) keep = i;
    this.confHistory = this.confHistory.slice(keep);
    return snapshot;
  }

  // ---------------------------------------------------------------- Ready

  hasReady(): boolean {
    if (this.awaitingAdvance) return false;
    this.flushAppends();
    this.flushReadHeartbeat();
    return (
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.log.pendingSnapshot !== null ||
      this.log.committed > this.log.applied ||
      this.hardStateChanged() ||
      this.prevSoftState.leaderId !== this.leaderId ||
      this.prevSoftState.role !== this.role
    );
  }

  ready(): Ready {
    invariant(!this.awaitingAdvance, "ready() called again before advance()");
    this.flushAppends();
    this.flushReadHeartbeat();
    const rd: {
      hardState?: HardState;
      entries: readonly Entry[];
      snapshot?: Snapshot;
      messages: readonly RaftMessage[];
      messagesAfterPersist: readonly RaftMessage[];
      committedEntries: readonly Entry[];
      readStates: readonly ReadState[];
      softState?: SoftState;
    } = {
      entries: this.log.unstableFrom <= this.log.lastIndex() ? this.log.entries.slice(this.log.unstableFrom - this.log.snapshotIndex - 1) : [],
      messages: this.msgs,
      messagesAfterPersist: mergeAppendAcks(this.msgsAfterPersist),
      committedEntries: [],
      readStates: this.readStates,
    };
    if (this.hardStateChanged()) {
      rd.hardState = { term: this.term, vote: this.vote, commit: this.log.committed };
      this.prevHardState = rd.hardState;
    }
    let applyFrom = this.log.applied + 1;
    if (this.log.pendingSnapshot !== null) {
      rd.snapshot = this.log.pendingSnapshot;
      applyFrom = Math.max(applyFrom, this.log.pendingSnapshot.meta.index + 1);
    }
    applyFrom = Math.max(applyFrom, this.log.firstIndex());
    if (this.log.committed >= applyFrom) {
      const hi = Math.min(this.log.committed, applyFrom + this.maxCommittedEntriesPerReady - 1);
      rd.committedEntries = this.log.entries.slice(applyFrom - this.log.snapshotIndex - 1, hi - this.log.snapshotIndex);
    }
    if (this.prevSoftState.leaderId !== this.leaderId || this.prevSoftState.role !== this.role) {
      rd.softState = { leaderId: this.leaderId, role: this.role };
      this.prevSoftState = rd.softState;
    }
    this.log.unstableFrom = this.log.lastIndex() + 1;
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.readStates = [];
    this.awaitingAdvance = true;
    return rd;
  }

  /** The batch from the last ready() is durable and its committed entries applied. */
  advance(rd: Ready): void {
    invariant(this.awaitingAdvance, "advance() without a ready()");
    this.awaitingAdvance = false;
    if (rd.snapshot !== undefined) {
      const index = rd.snapshot.meta.index;
      if (this.log.pendingSnapshot === rd.snapshot) this.log.pendingSnapshot = null;
      if (this.log.snapshotIndex >= index) this.log.persistedIndex = Math.max(this.log.persistedIndex, index);
      if (this.log.applied < index) this.log.applied = index;
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined && this.log.term(lastEntry.index) === lastEntry.term) {
      this.log.persistedIndex = Math.max(this.log.persistedIndex, lastEntry.index);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.log.applied) continue;
      invariant(e.index === this.log.applied + 1, () => `applied out of order: ${e.index} after ${this.log.applied}`);
      this.log.applied = e.index;
      if (e.type === EntryType.ConfChange) this.applyConfChangeEntry(e);
    }
    invariant(this.log.applied <= this.log.committed, () => `applied ${this.log.applied} > commit ${this.log.committed}`);
    invariant(this.log.persistedIndex <= this.log.lastIndex(), "persisted beyond the log");
    if (this.role === Role.Leader) {
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.persistedIndex) && this.maybeCommit()) this.bcastAppend();
    }
  }

  status(): RaftStatus {
    const base = {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      persistedIndex: this.log.persistedIndex,
      conf: this.conf,
      leadTransferee: this.leadTransferee,
      dropped: { ...this.droppedCounts },
    };
    if (this.role !== Role.Leader) return base;
    const progress: Record<NodeId, PeerStatus> = {};
    for (const [id, pr] of this.progress) {
      progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, inflightAppends: pr.inflights.count, learner: this.conf.learners.includes(id) };
    }
    return { ...base, progress };
  }

  /** Cheap snapshot of the volatile state (no per-peer detail), for shells and simulation checkers. */
  basicStatus(): { term: number; role: Role; leaderId: NodeId | null; commit: number; applied: number; firstIndex: number; lastIndex: number } {
    return { term: this.term, role: this.role, leaderId: this.leaderId, commit: this.log.committed, applied: this.log.applied, firstIndex: this.log.firstIndex(), lastIndex: this.log.lastIndex() };
  }

  /** Test/simulation introspection: the term of the entry at `index` (undefined if compacted or absent). */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  /** Test/simulation introspection: the entry at `index` if still in the log. */
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.random.intBetween(this.config.electionTicksMin, this.config.electionTicksMax);
    this.leadTransferee = null;
    this.votes.clear();
    this.progress.clear();
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
    this.readAcks.clear();
    this.appendsOwed.clear();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
  }

  private becomeFollower(term: number, leaderId: NodeId | null): void {
    this.reset(term);
    this.leaderId = leaderId;
    this.role = Role.Follower;
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
  }

  private becomePreCandidate(): void {
    invariant(this.role !== Role.Leader, "leader cannot become pre-candidate");
    // Pre-vote changes neither term nor vote (Raft thesis §9.6).
    this.votes.clear();
    this.leaderId = null;
    this.role = Role.PreCandidate;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
  }

  private becomeCandidate(): void {
    invariant(this.role !== Role.Leader, "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
  }

  private becomeLeader(): void {
    invariant(this.role === Role.Candidate || this.role === Role.PreCandidate, "only a candidate becomes leader");
    this.reset(this.term);
    this.leaderId = this.id;
    this.role = Role.Leader;
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickHeartbeat;
    for (const id of this.members()) this.progress.set(id, this.newProgress());
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.maybeUpdate(this.log.persistedIndex);
      self.becomeReplicate();
      self.recentActive = true;
    }
    // §5.4.2 / §8: a no-op of our term lets us commit earlier entries and serve reads.
    this.appendAsLeader([{ type: EntryType.Noop, data: new Uint8Array(0) }]);
    // No conf change until our no-op is applied: the fix to the single-server change bug.
    this.pendingConfIndex = this.log.lastIndex();
    this.bcastAppend();
  }

  private newProgress(): Progress {
    return new Progress(this.log.lastIndex() + 1, this.config.maxInflightAppends, this.config.maxInflightBytes);
  }

  private members(): NodeId[] {
    const out = allVoters(this.conf);
    for (const id of this.conf.learners) if (!out.includes(id)) out.push(id);
    return out;
  }

  private promotable(): boolean {
    return isVoter(this.conf, this.id) && this.log.pendingSnapshot === null;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicksMin) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.quorumActive()) {
          // Check-quorum: a leader that has not heard from a majority within an election timeout steps down.
          this.becomeFollower(this.term, null);
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      active.set(id, id === this.id || pr.recentActive);
      if (id !== this.id) pr.recentActive = false;
    }
    return jointVoteResult(this.conf, active) === VoteResult.Won;
  }

  private hup(transfer: boolean): void {
    if (this.role === Role.Leader || !this.promotable()) return;
    // Committed but unapplied conf changes might remove us; wait for them (etcd does too).
    for (let i = Math.max(this.log.applied + 1, this.log.firstIndex()); i <= this.log.committed; i++) {
      if (this.log.entry(i)?.type === EntryType.ConfChange) return this.drop("campaignConfChangePending");
    }
    if (this.config.preVote && !transfer) this.campaignRound(true, false);
    else this.campaignRound(false, transfer);
  }

  private campaignRound(pre: boolean, transfer: boolean): void {
    let voteTerm: number;
    if (pre) {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (jointVoteResult(this.conf, this.votes) === VoteResult.Won) {
      if (pre) this.campaignRound(false, transfer);
      else this.becomeLeader();
      return;
    }
    for (const id of allVoters(this.conf)) {
      if (id === this.id) continue;
      this.send({
        type: pre ? MessageType.PreVote : MessageType.Vote,
        from: this.id,
        to: id,
        term: voteTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  /** Figure 2, RequestVote receiver rules 1-2, plus pre-vote. */
  private handleVoteRequest(m: MsgVote): void {
    const pre = m.type === MessageType.PreVote;
    const canVote = this.vote === m.from || (this.vote === null && this.leaderId === null) || (pre && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      this.send({ type: pre ? MessageType.PreVoteResp : MessageType.VoteResp, from: this.id, to: m.from, term: m.term, reject: false });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: pre ? MessageType.PreVoteResp : MessageType.VoteResp, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // ---------------------------------------------------------------- step per role

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.leaderId === null) return this.drop("propNoLeader");
        this.send({ ...m, from: this.id, to: this.leaderId });
        return;
      case MessageType.TransferLeader:
        if (this.leaderId === null) return this.drop("transferNoLeader");
        this.send({ ...m, from: this.id, to: this.leaderId });
        return;
      case MessageType.ReadIndex:
        return this.drop("readIndexNotLeader");
      case MessageType.App:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        return this.handleAppend(m);
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        return this.handleHeartbeat(m);
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        return this.handleSnapshotChunk(m);
      case MessageType.TimeoutNow:
        // Leadership transfer: campaign at once, skipping pre-vote and others' leases.
        return this.hup(true);
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, requestContext: m.context });
        return;
      default:
        return this.drop(`unexpected:${m.type}:follower`);
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case MessageType.Prop:
        return this.drop("propNoLeader");
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        return this.handleAppend(m);
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        return this.handleHeartbeat(m);
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        return this.handleSnapshotChunk(m);
      case MessageType.VoteResp:
      case MessageType.PreVoteResp:
        return this.handleVoteResponse(m);
      default:
        return this.drop(`unexpected:${m.type}:candidate`);
    }
  }

  private handleVoteResponse(m: MsgVoteResp): void {
    const expected = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    if (m.type !== expected) return this.drop("staleVoteResp");
    if (!isVoter(this.conf, m.from)) return this.drop("voteFromNonVoter");
    this.votes.set(m.from, !m.reject);
    const result = jointVoteResult(this.conf, this.votes);
    if (result === VoteResult.Won) {
      if (this.role === Role.PreCandidate) this.campaignRound(false, false);
      else this.becomeLeader();
    } else if (result === VoteResult.Lost) {
      this.becomeFollower(this.term, null);
    }
  }

  private stepLeader(m: RaftMessage): void {
    switch (m.type) {
      case MessageType.Prop: {
        const r = this.proposeEntries(m.entries.filter((e) => e.type === EntryType.Normal));
        if (!r.ok) this.drop(`forwardedProp:${r.error._tag}`);
        return;
      }
      case MessageType.ReadIndex:
        if (!this.progress.has(m.from)) return this.drop("readIndexFromNonMember");
        return this.leaderReadIndex(m.from, m.context);
      case MessageType.TransferLeader:
        return this.leaderTransfer(m.transferee);
      case MessageType.AppResp:
        return this.handleAppendResponse(m);
      case MessageType.HeartbeatResp: {
        const pr = this.progress.get(m.from);
        if (pr === undefined) return this.drop("respFromNonMember");
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Snapshot) {
          this.sendSnapshotChunk(m.from, pr);
        } else if (pr.match < this.log.lastIndex()) {
          // Lost appends leave a replicating peer without acks: after two quiet heartbeat
          // rounds, fall back to probing from its match (retransmission).
          if (pr.state === ProgressState.Replicate && ++pr.stalledHeartbeats >= 3) {
            pr.becomeProbe();
            pr.stalledHeartbeats = 0;
          }
          // A probe must go out even if empty: it is how we learn where the peer's log matches.
          this.sendAppends(m.from, pr, pr.state === ProgressState.Probe);
        }
        if (m.readSeq > (this.readAcks.get(m.from) ?? 0)) {
          this.readAcks.set(m.from, m.readSeq);
          this.releaseReads();
        }
        return;
      }
      case MessageType.SnapResp:
        return this.handleSnapshotResponse(m);
      default:
        return this.drop(`unexpected:${m.type}:leader`);
    }
  }

  // ---------------------------------------------------------------- replication (follower side)

  private wellFormedAppend(m: MsgApp): boolean {
    let prevTerm = m.prevTerm;
    if (m.prevTerm > m.term) return false;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i] as Entry;
      if (e.index !== m.prevIndex + 1 + i || e.term < prevTerm || e.term > m.term) return false;
      prevTerm = e.term;
    }
    return true;
  }

  /** Figure 2, AppendEntries receiver rules 1-5 (rule 1, stale term, is handled in step()). */
  private handleAppend(m: MsgApp): void {
    if (m.prevIndex < this.log.committed) {
      this.send({ type: MessageType.AppResp, from: this.id, to: m.from, term: this.term, index: this.log.committed, reject: false, conflictTerm: 0, conflictIndex: 0 });
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = m.prevIndex + m.entries.length;
      const conflict = this.log.findConflict(m.entries);
      if (conflict !== 0) {
        if (conflict <= this.log.committed) {
          // A leader contradicting our committed log means safety is already broken elsewhere; refuse it.
          return this.drop("appendConflictsWithCommitted");
        }
        this.log.append(m.entries.slice(conflict - (m.prevIndex + 1)));
      }
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.send({ type: MessageType.AppResp, from: this.id, to: m.from, term: this.term, index: lastNew, reject: false, conflictTerm: 0, conflictIndex: 0 });
      return;
    }
    // Rule 2 failed: reply with a hint so the leader can skip a whole term at once.
    let conflictTerm = 0;
    let conflictIndex = this.log.lastIndex() + 1;
    const t = this.log.term(m.prevIndex);
    if (t !== undefined) {
      conflictTerm = t;
      conflictIndex = m.prevIndex;
      const floor = Math.max(this.log.committed + 1, this.log.firstIndex());
      while (conflictIndex - 1 >= floor && this.log.term(conflictIndex - 1) === conflictTerm) conflictIndex--;
    }
    this.send({ type: MessageType.AppResp, from: this.id, to: m.from, term: this.term, index: m.prevIndex, reject: true, conflictTerm, conflictIndex });
  }

  private handleHeartbeat(m: MsgHeartbeat): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: MessageType.HeartbeatResp, from: this.id, to: m.from, term: this.term, readSeq: m.readSeq });
  }

  /** §7 InstallSnapshot receiver: reassemble chunks in order, then install. */
  private handleSnapshotChunk(m: MsgSnap): void {
    const reply = (nextOffset: number, reject: boolean) =>
      this.send({ type: MessageType.SnapResp, from: this.id, to: m.from, term: this.term, snapshotIndex: m.snapshotIndex, snapshotTerm: m.snapshotTerm, nextOffset, reject });
    if (m.snapshotIndex <= this.log.committed) {
      this.incomingSnapshot = null;
      this.send({ type: MessageType.AppResp, from: this.id, to: m.from, term: this.term, index: this.log.committed, reject: false, conflictTerm: 0, conflictIndex: 0 });
      return;
    }
    if (m.totalBytes > this.maxSnapshotBytes || m.offset + m.data.byteLength > m.totalBytes) {
      this.drop("snapshotTooLarge");
      return reply(0, true);
    }
    let inc = this.incomingSnapshot;
    if (inc === null || inc.index !== m.snapshotIndex || inc.term !== m.snapshotTerm || inc.from !== m.from || inc.totalBytes !== m.totalBytes) {
      if (m.offset !== 0) return reply(0, false);
      inc = { from: m.from, index: m.snapshotIndex, term: m.snapshotTerm, conf: m.conf, totalBytes: m.totalBytes, chunks: [], received: 0 };
      this.incomingSnapshot = inc;
    }
    if (m.offset === inc.received && m.data.byteLength > 0) {
      inc.chunks.push(m.data);
      inc.received += m.data.byteLength;
    }
    if (inc.received < inc.totalBytes) return reply(inc.received, false);
    this.incomingSnapshot = null;
    const data = new Uint8Array(inc.totalBytes);
    let at = 0;
    for (const c of inc.chunks) {
      data.set(c, at);
      at += c.byteLength;
    }
    if (this.log.matchTerm(inc.index, inc.term)) {
      // We already hold that prefix: just learn it is committed (§7 receiver rule 6).
      this.log.commitTo(inc.index);
    } else {
      this.log.restore({ meta: { index: inc.index, term: inc.term, conf: inc.conf }, data });
      this.conf = inc.conf;
      this.confHistory = [{ index: inc.index, conf: inc.conf }];
    }
    this.send({ type: MessageType.AppResp, from: this.id, to: m.from, term: this.term, index: this.log.lastIndex(), reject: false, conflictTerm: 0, conflictIndex: 0 });
  }

  // ---------------------------------------------------------------- replication (leader side)

  private proposeEntries(entries: readonly ProposedEntry[]): ProposeResult {
    if (this.role !== Role.Leader) return { ok: false, error: new NotLeaderError(this.leaderId) };
    if (this.leadTransferee !== null) return { ok: false, error: new ProposalDroppedError(ProposalDropReason.TransferInProgress) };
    if (entries.length === 0) return { ok: false, error: new ProposalDroppedError(ProposalDropReason.InvalidConfChange, "no entries") };
    let bytes = 0;
    for (const e of entries) {
      if (e.data.byteLength > this.config.maxBytesPerAppend) {
        return { ok: false, error: new ProposalDroppedError(ProposalDropReason.EntryTooLarge, `${e.data.byteLength} > ${this.config.maxBytesPerAppend}`) };
      }
      bytes += entryBytes(e);
    }
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.config.maxUncommittedBytes) {
      return { ok: false, error: new ProposalDroppedError(ProposalDropReason.UncommittedBytesLimit) };
    }
    const last = this.appendAsLeader(entries);
    this.bcastAppend();
    return { ok: true, index: last, term: this.term };
  }

  private appendAsLeader(entries: readonly ProposedEntry[]): number {
    let index = this.log.lastIndex();
    const out: Entry[] = [];
    for (const e of entries) {
      index++;
      out.push({ term: this.term, index, type: e.type, data: e.data });
      this.uncommittedBytes += entryBytes(e);
    }
    this.log.append(out);
    // The leader's own durable match advances only in advance(), after persisting.
    if (this.members().length === 1 && this.maybeCommit()) this.bcastAppend();
    return index;
  }

  /** Every peer is owed appends, even empty ones (they carry the commit index); sent when the Ready is built. */
  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.oweAppends(id, true);
  }

  private oweAppends(to: NodeId, sendIfEmpty: boolean): void {
    this.appendsOwed.set(to, sendIfEmpty || (this.appendsOwed.get(to) ?? false));
  }

  private flushAppends(): void {
    if (this.appendsOwed.size === 0) return;
    const owed = this.appendsOwed;
    this.appendsOwed = new Map();
    if (this.role !== Role.Leader) return;
    for (const [id, sendIfEmpty] of owed) {
      const pr = this.progress.get(id);
      if (pr !== undefined) this.sendAppends(id, pr, sendIfEmpty);
    }
  }

  private bcastHeartbeat(): void {
    this.readSeqBroadcast = this.readSeq;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send({ type: MessageType.Heartbeat, from: this.id, to: id, term: this.term, commit: Math.min(this.log.committed, pr.match), readSeq: this.readSeq });
    }
  }

  /** Sends appends to one peer while its window allows (pipelining), at least one if `sendIfEmpty`. */
  private sendAppends(to: NodeId, pr: Progress, sendIfEmpty: boolean): void {
    for (let i = 0; i <= this.config.maxInflightAppends; i++) {
      if (!this.maybeSendAppend(to, pr, sendIfEmpty && i === 0)) return;
    }
  }

  private maybeSendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.config.maxBytesPerAppend, this.config.maxEntriesPerAppend);
    if (prevTerm === undefined || entries === undefined) {
      // What this peer needs is compacted away: InstallSnapshot.
      this.sendSnapshotChunk(to, pr);
      return false;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: MessageType.App, from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    const last = entries[entries.length - 1];
    if (pr.state === ProgressState.Replicate && last !== undefined) {
      let bytes = 0;
      for (const e of entries) bytes += entryBytes(e);
      pr.next = last.index + 1;
      pr.inflights.add(last.index, bytes);
    } else if (pr.state === ProgressState.Probe) {
      pr.probeSent = true;
    }
    return last !== undefined;
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot;
    invariant(snap !== null, "a peer needs compacted entries but there is no snapshot");
    if (pr.state !== ProgressState.Snapshot || pr.pendingSnapshotIndex !== snap.meta.index) pr.becomeSnapshot(snap.meta.index, snap.meta.term);
    const offset = Math.min(pr.snapshotOffset, snap.data.byteLength);
    const data = snap.data.subarray(offset, Math.min(offset + this.config.snapshotChunkBytes, snap.data.byteLength));
    this.send({
      type: MessageType.Snap,
      from: this.id,
      to,
      term: this.term,
      snapshotIndex: snap.meta.index,
      snapshotTerm: snap.meta.term,
      conf: snap.meta.conf,
      offset,
      totalBytes: snap.data.byteLength,
      data,
    });
  }

  private handleSnapshotResponse(m: MsgSnapResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return this.drop("respFromNonMember");
    pr.recentActive = true;
    if (pr.state !== ProgressState.Snapshot || m.snapshotIndex !== pr.pendingSnapshotIndex || m.snapshotTerm !== pr.pendingSnapshotTerm) return this.drop("staleSnapResp");
    if (m.reject) {
      pr.becomeProbe();
      return;
    }
    // Only forward progress triggers a send, so duplicated responses cannot multiply chunk traffic;
    // a follower that restarted (offset back to 0) is resent from heartbeat responses.
    if (m.nextOffset > pr.snapshotOffset) {
      pr.snapshotOffset = m.nextOffset;
      this.sendSnapshotChunk(m.from, pr);
    } else if (m.nextOffset < pr.snapshotOffset) {
      pr.snapshotOffset = m.nextOffset;
    }
  }

  private handleAppendResponse(m: MsgAppResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return this.drop("respFromNonMember");
    pr.recentActive = true;
    if (m.reject) {
      const hintNext = this.hintedNext(m);
      if (pr.maybeDecrTo(m.index, hintNext)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppends(m.from, pr, true);
      } else {
        this.drop("staleAppReject");
      }
      return;
    }
    if (m.index > this.log.lastIndex()) return this.drop("appRespBeyondLog");
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === ProgressState.Probe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshotIndex) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) {
        pr.inflights.freeLE(m.index);
      }
      if (this.maybeCommit()) this.bcastAppend();
      else this.oweAppends(m.from, false);
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
        this.send({ type: MessageType.TimeoutNow, from: this.id, to: m.from, term: this.term });
      }
    } else if (pr.state === ProgressState.Probe) {
      this.sendAppends(m.from, pr, false);
    }
  }

  /** Where to retry after a rejection, from the follower's (conflictTerm, conflictIndex) hint. */
  private hintedNext(m: MsgAppResp): number {
    if (m.conflictTerm === 0) return m.conflictIndex;
    let i = Math.min(m.index, this.log.lastIndex());
    const floor = this.log.snapshotIndex;
    while (i > floor) {
      const t = this.log.term(i) as number;
      if (t <= m.conflictTerm) {
        // Our last entry of the follower's conflicting term: both logs agree up to there if it matches.
        return t === m.conflictTerm ? i + 1 : m.conflictIndex;
      }
      i--;
    }
    return m.conflictIndex;
  }

  /** Commit the highest index a quorum has persisted, only if it is of our term (§5.4.2, Figure 8). */
  private maybeCommit(): boolean {
    let index = jointCommitted(this.conf, (id) => this.progress.get(id)?.match ?? 0);
    if (this.config.unsafePlantedBug === "commitWithoutQuorum") index = this.log.lastIndex();
    if (index > this.log.lastIndex()) index = this.log.lastIndex();
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    const old = this.log.committed;
    this.log.commitTo(index);
    for (let i = old + 1; i <= index; i++) {
      const e = this.log.entry(i);
      if (e !== undefined && e.term === this.term) this.uncommittedBytes -= entryBytes(e);
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.leaderReadIndex(r.from, r.context);
    }
    return true;
  }

  // ---------------------------------------------------------------- ReadIndex, transfer, membership

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private leaderReadIndex(from: NodeId, context: Uint8Array): void {
    if (this.pendingReads.length + this.readsAwaitingCommit.length >= this.maxPendingReadIndex) return this.drop("readIndexQueueFull");
    if (!this.committedInTerm()) {
      // §6.4: the leader must know the newest commit index, i.e. have committed an entry of its term.
      this.readsAwaitingCommit.push({ context, from });
      return;
    }
    this.readSeq++;
    this.pendingReads.push({ seq: this.readSeq, index: this.log.committed, context, from });
    this.releaseReads();
  }

  private flushReadHeartbeat(): void {
    if (this.role === Role.Leader && this.readSeq > this.readSeqBroadcast && this.pendingReads.length > 0) this.bcastHeartbeat();
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0) return;
    const acked = jointCommitted(this.conf, (id) => (id === this.id ? Number.MAX_SAFE_INTEGER : (this.readAcks.get(id) ?? 0)));
    let n = 0;
    while (n < this.pendingReads.length && (this.pendingReads[n] as PendingRead).seq <= acked) {
      const r = this.pendingReads[n] as PendingRead;
      if (r.from === this.id) this.readStates.push({ index: r.index, requestContext: r.context });
      else this.send({ type: MessageType.ReadIndexResp, from: this.id, to: r.from, term: this.term, context: r.context, index: r.index });
      n++;
    }
    if (n > 0) this.pendingReads = this.pendingReads.slice(n);
  }

  private leaderTransfer(to: NodeId): void {
    if (to === this.id) {
      this.leadTransferee = null;
      return;
    }
    if (!isVoter(this.conf, to)) return this.drop("transferToNonVoter");
    const pr = this.progress.get(to);
    if (pr === undefined) return this.drop("transferToNonVoter");
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer gets one election timeout to finish
    if (pr.match === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, from: this.id, to, term: this.term });
    else this.sendAppends(to, pr, true);
  }

  private confAt(index: number): ConfState {
    let conf = (this.confHistory[0] as { conf: ConfState }).conf;
    for (const h of this.confHistory) if (h.index <= index) conf = h.conf;
    return conf;
  }

  private applyConfChangeEntry(e: Entry): void {
    const cc = decodeConfChange(e.data);
    if (cc instanceof Error) return this.drop("undecodableConfChange");
    const next = applyConfChange(this.conf, cc);
    if (sameConf(next, this.conf)) return;
    this.conf = next;
    this.confHistory.push({ index: e.index, conf: next });
    if (this.role !== Role.Leader) return;
    if (!isVoter(next, this.id)) {
      // §6: a leader removed from the configuration steps down once the change is committed.
      this.becomeFollower(this.term, null);
      return;
    }
    const members = this.members();
    for (const id of members) if (!this.progress.has(id)) this.progress.set(id, this.newProgress());
    for (const id of [...this.progress.keys()]) if (!members.includes(id)) this.progress.delete(id);
    if (this.leadTransferee !== null && !isVoter(next, this.leadTransferee)) this.leadTransferee = null;
    if (this.maybeCommit()) this.bcastAppend();
    else this.bcastAppend();
  }

  // ---------------------------------------------------------------- plumbing

  private hardStateChanged(): boolean {
    const p = this.prevHardState;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed;
  }

  /** Responses and vote requests that depend on our (maybe unpersisted) term, vote or log wait for the write. */
  private send(m: RaftMessage): void {
    if (m.to === this.id) throw new InvariantViolation("message to self");
    switch (m.type) {
      case MessageType.Vote:
      case MessageType.VoteResp:
      case MessageType.AppResp:
      case MessageType.HeartbeatResp:
      case MessageType.SnapResp:
        this.msgsAfterPersist.push(m);
        return;
      default:
        this.msgs.push(m);
    }
  }

  private drop(reason: string): void {
    this.droppedCounts[reason] = (this.droppedCounts[reason] ?? 0) + 1;
  }
}
