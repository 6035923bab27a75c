/**
 * What a node needs from the Raft core and from the data tree, stated as the
 * node uses them. The consensus and tree packages were written concurrently
 * with this one; keeping the node's needs in one narrow interface means the
 * node never depends on their internals and an adapter is all that changes
 * when their APIs move: raft-core-raw-node.ts (consensus RawNode) and
 * tree-state-machine.ts (DataTree + WatchRegistry). Tests may plug in others.
 */
import type { Codec, Logger, Random } from "@corral/actors";
import type { DurableLog, Entry, HardState, RecoveredState, Snapshot } from "@corral/consensus";
import type { AddWatchMode, ErrorCodeValue, Id, ReadOp, ReadResult, Txn, TxnResult, WatcherType, WatchEvent, WatchSet } from "@corral/protocol";

// ------------------------------------------------------------------ raft --

export type RaftRole = "follower" | "preCandidate" | "candidate" | "leader";

/** A Raft wire message as far as the node cares: it knows whom to send it to. */
export interface RoutedMessage {
  readonly to: string;
}

export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/** One batch of work from the core (etcd's Ready). */
export interface RaftReady<M extends RoutedMessage> {
  readonly hardState?: HardState;
  /** Entries to persist before `messagesAfterPersist` are sent. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: install into the tree and persist. */
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  /** Messages that may be sent at once. */
  readonly messages: readonly M[];
  /** Messages that depend on this batch being durable (vote answers, append acks). */
  readonly messagesAfterPersist: readonly M[];
  readonly readStates: readonly ReadState[];
}

export interface RaftCoreStatus {
  readonly id: string;
  readonly role: RaftRole;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly lastIndex: number;
  /** Leader only: each peer's highest replicated index. */
  readonly matchIndex: Readonly<Record<string, number>>;
}

export interface RaftCore<M extends RoutedMessage> {
  tick(): void;
  step(message: M): void;
  /** Append these commands in one batch (contiguous indices). false when not leader. */
  propose(commands: readonly Uint8Array[]): boolean;
  readIndex(context: Uint8Array): void;
  transferLeadership(to: string): void;
  hasReady(): boolean;
  ready(): RaftReady<M>;
  /** The last `ready()` batch has been carried out. */
  advance(): void;
  /** The tree captured its state at `index` (<= applied): returns the snapshot to persist, or undefined if refused. */
  compact(index: number, data: Uint8Array): Snapshot | undefined;
  status(): RaftCoreStatus;
  /** `status()` without the per-peer detail: cheap enough for every turn. */
  basicStatus(): Omit<RaftCoreStatus, "matchIndex">;
}

export interface RaftCoreOptions {
  readonly id: string;
  readonly peers: readonly string[];
  readonly recovered: RecoveredState;
  readonly random: Random;
  readonly logger: Logger;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export interface RaftCoreFactory<M extends RoutedMessage> {
  create(options: RaftCoreOptions): RaftCore<M>;
  /** Strict wire codec for the core's messages. */
  readonly codec: Codec<M>;
  /**
   * A peer message's first number beyond its sane bound (term, index, size),
   * if any: such a message is dropped and counted before it reaches the core.
   */
  readonly checkBounds?: (message: M) => { readonly field: string; readonly value: number } | undefined;
}

// ------------------------------------------------------------------ tree --

/** A watch event for one session. */
export interface SessionEvent {
  readonly sessionId: number;
  readonly event: WatchEvent;
}

/** One change an entry made to the tree, in apply order: what watches fire on. */
export interface AppliedChange {
  readonly type: "created" | "deleted" | "dataChanged" | "childrenChanged";
  readonly path: string;
}

/** The changes of one applied entry, as the applier's recent history keeps them. */
export interface HistoryEntry {
  readonly zxid: number;
  readonly changes: readonly AppliedChange[];
}

/** What a reconnecting session missed. */
export interface ResumedWatches {
  /** In zxid order, each change at most once. */
  readonly missed: readonly WatchEvent[];
  /** Persistent-watch events since lastZxidSeen may be missing (no history that far back). */
  readonly gap: boolean;
}

export interface AppliedTxn {
  readonly result: TxnResult;
  /**
   * What the entry changed in the tree, in order (empty when nothing).
   * Absent: not reported — the applier then treats its change history as
   * lost at this entry (reconnects fall back to the tree and flag a gap).
   */
  readonly changes?: readonly AppliedChange[];
  /** Sessions this entry closed (their watches are gone; their connections end). */
  readonly closedSessions: readonly number[];
  /** Watches this change fired, in registry order. */
  readonly events: readonly SessionEvent[];
  /** A write beyond its session's next seq: not applied (its node re-sends the run in order). */
  readonly skipped?: boolean;
}

export interface RestoredSnapshot {
  /** Watch events the snapshot's changes fire on this node, in zxid order. */
  readonly events: readonly SessionEvent[];
  /** Sessions in the old tree that the snapshot no longer has (their watches are gone). */
  readonly closedSessions: readonly number[];
}

export interface Caller {
  readonly sessionId: number;
  readonly auth: readonly Id[];
}

export interface SessionInfo {
  readonly sessionId: number;
  readonly timeoutMs: number;
  /** SHA-256 of the session secret (hex). */
  readonly secretHash: string;
  /** Highest write sequence applied for the session. */
  readonly lastSeq: number;
  /** The ZooKeeper-wire connection that last claimed the session (ClaimSessionTxn), if any. */
  readonly owner?: string;
}

/** The replicated state machine plus this node's watch registry. */
export interface StateMachine {
  apply(txn: Txn, meta: { readonly zxid: number; readonly timeMs: number }): AppliedTxn;
  /** Serve a read; with `watch`, register the one-shot watch atomically with the read. */
  read(op: ReadOp, caller: Caller): ReadResult;
  addWatch(sessionId: number, path: string, mode: AddWatchMode): void;
  /** Registers a one-shot watch without a read (reconnect re-registration). */
  addOneShotWatch(sessionId: number, path: string, kind: "data" | "exists" | "child"): void;
  removeWatches(sessionId: number, path: string, watcherType: WatcherType): ErrorCodeValue | undefined;
  removeSessionWatches(sessionId: number): void;
  session(sessionId: number): SessionInfo | undefined;
  sessions(): readonly SessionInfo[];
  sessionCount(): number;
  /** Containers emptied of children and TTL nodes idle past their TTL at wall time `nowMs` (the leader proposes their reaping). */
  findReapable(nowMs: number): readonly { readonly path: string; readonly kind: "container" | "ttl" }[];
  /**
   * A session resumes here (reconnect): replace its watches with the client's
   * set and return what it missed after `lastZxidSeen` — exact when `history`
   * (every change after lastZxidSeen, oldest first) is given, otherwise what
   * the tree still shows, with `gap` set for persistent watches.
   */
  resumeWatches(sessionId: number, lastZxidSeen: number, watches: WatchSet, history: readonly HistoryEntry[] | undefined, appliedZxid: number): ResumedWatches;
  /** zxids of a node, for missed-event computation on reconnect. */
  zxidsOf(path: string): { readonly czxid: number; readonly mzxid: number; readonly pzxid: number } | undefined;
  watchCount(): number;
  snapshot(): Uint8Array;
  /**
   * Replace the tree with a snapshot. Into a running replica, the entries it
   * covers were never applied here: the result is what they owe this node's
   * watches and sessions (events in zxid order, sessions gone).
   */
  restore(data: Uint8Array): RestoredSnapshot;
  digest(): string;
}

export interface StateMachineFactory {
  create(): StateMachine;
}

export type DurableLogFactory = (nodeId: string) => DurableLog;
