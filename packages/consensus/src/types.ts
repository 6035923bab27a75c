/**
 * Shared Raft types: the log, the durable state, and the storage contract the
 * pure core relies on. The core holds the uncompacted log in memory; a
 * `DurableLog` makes it survive crashes. See DESIGN.md §5.
 */

export type NodeId = string;

export const EntryType = {
  /** An application command (a tree transaction). */
  Normal: 0,
  /** A membership change; `data` is an encoded ConfChange. */
  ConfChange: 1,
  /** The empty entry a new leader appends to commit its term. */
  Noop: 2,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be on disk before a node answers a vote or acknowledges an append. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Set while a joint configuration (C_old,new) is in force. */
  readonly votersOutgoing?: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state at `meta.index`. */
  readonly data: Uint8Array;
}

/** Everything a node recovers at start-up. */
export interface RecoveredState {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous, in index order. */
  readonly entries: readonly Entry[];
}

/**
 * One Ready batch worth of durable writes, made durable by ONE sync (group commit).
 * If `entries[0].index` <= the last stored index, the stored suffix from that
 * index on is discarded first (log conflict truncation).
 */
export interface DurableBatch {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
}

/**
 * The durable log: WAL segments + hard state + snapshots.
 * Implementations: `MemoryDurableLog` (tests/simulation; can lose unsynced
 * writes on a simulated crash) and `FileDurableLog` (nodes).
 */
export interface DurableLog {
  /** Recover after start. Throws a typed `StorageCorruptionError` on corruption in acknowledged data. */
  load(): Promise<RecoveredState>;
  /** Persist a batch; resolves once durable under the configured fsync policy. */
  save(batch: DurableBatch): Promise<void>;
  /** Persist a snapshot (temp + fsync + rename + fsync dir) and drop log entries it covers. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** Drop entries with index <= `index` (already covered by a saved snapshot). */
  compact(index: number): Promise<void>;
  close(): Promise<void>;
}
