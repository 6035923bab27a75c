/**
 * The znode data model shared by tree, server and client: Stat, create modes,
 * permissions and ACLs, watch events. Numbering follows ZooKeeper (ZooDefs,
 * CreateMode, Watcher.Event) so the values mean the same thing on both.
 */

/**
 * ZooKeeper's Stat, all 11 fields. zxids and times are JS numbers: exact up to
 * 2^53 - 1 (Number.MAX_SAFE_INTEGER). A zxid is a Raft log index and times are
 * milliseconds since the epoch, so the bound is ~9e15 entries / ~285,000 years;
 * decoders reject anything that is not a safe integer.
 */
export interface Stat {
  /** zxid of the change that created the node. */
  readonly czxid: number;
  /** zxid of the change that last modified the node's data. */
  readonly mzxid: number;
  /** zxid of the change that last added or removed a child. */
  readonly pzxid: number;
  /** Creation time, ms since the epoch (fixed by the leader). */
  readonly ctime: number;
  /** Last data modification time, ms since the epoch. */
  readonly mtime: number;
  /** Number of changes to the data. */
  readonly version: number;
  /** Number of child creations (ZooKeeper 3.5+ does not count deletions). */
  readonly cversion: number;
  /** Number of changes to the ACL. */
  readonly aversion: number;
  /**
   * Session id owning an ephemeral node, else 0. Unlike ZooKeeper, containers
   * and TTL nodes keep 0 here: ZooKeeper's EphemeralType encodings need 64-bit
   * values beyond 2^53. Their kind is known from the create mode.
   */
  readonly ephemeralOwner: number;
  readonly dataLength: number;
  readonly numChildren: number;
}

export const StatFields = [
  "czxid",
  "mzxid",
  "pzxid",
  "ctime",
  "mtime",
  "version",
  "cversion",
  "aversion",
  "ephemeralOwner",
  "dataLength",
  "numChildren",
] as const satisfies readonly (keyof Stat)[];

/** ZooKeeper's CreateMode numbering. */
export const CreateMode = {
  Persistent: 0,
  Ephemeral: 1,
  PersistentSequential: 2,
  EphemeralSequential: 3,
  Container: 4,
  PersistentWithTTL: 5,
  PersistentSequentialWithTTL: 6,
} as const;
export type CreateMode = (typeof CreateMode)[keyof typeof CreateMode];

export function isCreateMode(value: unknown): value is CreateMode {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 6;
}
export function isSequentialMode(mode: CreateMode): boolean {
  return mode === CreateMode.PersistentSequential || mode === CreateMode.EphemeralSequential || mode === CreateMode.PersistentSequentialWithTTL;
}
export function isEphemeralMode(mode: CreateMode): boolean {
  return mode === CreateMode.Ephemeral || mode === CreateMode.EphemeralSequential;
}
export function isTtlMode(mode: CreateMode): boolean {
  return mode === CreateMode.PersistentWithTTL || mode === CreateMode.PersistentSequentialWithTTL;
}

/** ZooDefs.Perms. */
export const Perms = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const;

/** An identity: scheme ("world", "digest", "auth", "super" ...) and id. */
export interface Id {
  readonly scheme: string;
  readonly id: string;
}

/** One ACL entry: a permission mask granted to an identity. */
export interface ACL {
  readonly perms: number;
  readonly id: Id;
}

export const ANYONE_ID_UNSAFE: Id = Object.freeze({ scheme: "world", id: "anyone" });
/** Stands for "the identities the caller authenticated with" when creating. */
export const AUTH_IDS: Id = Object.freeze({ scheme: "auth", id: "" });

/** ZooDefs.Ids.OPEN_ACL_UNSAFE: anyone may do anything. */
export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([Object.freeze({ perms: Perms.ALL, id: ANYONE_ID_UNSAFE })]);
/** ZooDefs.Ids.CREATOR_ALL_ACL: everything for the creator's authenticated ids. */
export const CREATOR_ALL_ACL: readonly ACL[] = Object.freeze([Object.freeze({ perms: Perms.ALL, id: AUTH_IDS })]);
/** ZooDefs.Ids.READ_ACL_UNSAFE: anyone may read. */
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([Object.freeze({ perms: Perms.READ, id: ANYONE_ID_UNSAFE })]);

/** Watcher.Event.EventType. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Watcher.Event.KeeperState (deprecated Unknown/NoSyncConnected omitted). */
export const KeeperState = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Expired: -112,
  Closed: 7,
} as const;
export type KeeperState = (typeof KeeperState)[keyof typeof KeeperState];

/** ZooDefs.AddWatchModes. */
export const AddWatchMode = {
  Persistent: 0,
  PersistentRecursive: 1,
} as const;
export type AddWatchMode = (typeof AddWatchMode)[keyof typeof AddWatchMode];

/** Watcher.WatcherType (for removeWatches). */
export const WatcherType = {
  Children: 1,
  Data: 2,
  Any: 3,
} as const;
export type WatcherType = (typeof WatcherType)[keyof typeof WatcherType];

/** A watch event as delivered to a client. */
export interface WatchEvent {
  readonly type: EventType;
  readonly state: KeeperState;
  readonly path: string;
  /** zxid of the change that fired it. */
  readonly zxid: number;
  /**
   * Node-internal, never sent: the ACL that decides who may see this event
   * (the node's; for NodeChildrenChanged the parent's, for NodeDeleted the
   * node's as it was). A watcher without READ on it is not told
   * (ZooKeeper's fix for CVE-2024-23944).
   */
  readonly readAcl?: readonly ACL[];
}
