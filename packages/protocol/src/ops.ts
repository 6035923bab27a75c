/**
 * Operations and their results as discriminated unions (discriminant `type`),
 * and the transactions that travel in Raft entries (`Txn`).
 *
 * Write results mirror ZooKeeper's: a failing write is an `ErrorResult`; a
 * multi always answers with one result per op, and when it failed (and so did
 * nothing) those results are what ZooKeeper's DataTree produces: ops before the
 * failing one `Ok` (0), the failing op its error, ops after it
 * `RuntimeInconsistency` (-2). `multiFailure(result)` finds the failing op.
 */
import type { ErrorCodeValue } from "./errors.js";
import { ErrorCode } from "./errors.js";
import type { ACL, AddWatchMode, CreateMode, Id, Stat, WatcherType } from "./types.js";

// ----------------------------------------------------------------- writes --

export interface CreateOp {
  readonly type: "create";
  /** With a sequential mode: the prefix to which the 10-digit counter is appended. */
  readonly path: string;
  readonly data: Uint8Array;
  readonly acl: readonly ACL[];
  readonly mode: CreateMode;
  /** Required (> 0) for the TTL modes, absent otherwise. */
  readonly ttlMs?: number;
}
export interface DeleteOp {
  readonly type: "delete";
  readonly path: string;
  /** Expected data version; -1 = any. */
  readonly version: number;
}
export interface SetDataOp {
  readonly type: "setData";
  readonly path: string;
  readonly data: Uint8Array;
  /** Expected data version; -1 = any. */
  readonly version: number;
}
export interface SetACLOp {
  readonly type: "setACL";
  readonly path: string;
  readonly acl: readonly ACL[];
  /** Expected ACL version (aversion); -1 = any. */
  readonly version: number;
}
export interface CheckOp {
  readonly type: "check";
  readonly path: string;
  /** Expected data version; -1 = only check existence. */
  readonly version: number;
}
export type MultiSubOp = CheckOp | CreateOp | DeleteOp | SetDataOp;
export interface MultiOp {
  readonly type: "multi";
  readonly ops: readonly MultiSubOp[];
}
export type WriteOp = CreateOp | DeleteOp | SetDataOp | SetACLOp | MultiOp;

// ------------------------------------------------------------------ reads --

export interface GetDataOp {
  readonly type: "getData";
  readonly path: string;
  readonly watch?: boolean;
}
export interface ExistsOp {
  readonly type: "exists";
  readonly path: string;
  readonly watch?: boolean;
}
export interface GetChildrenOp {
  readonly type: "getChildren";
  readonly path: string;
  readonly watch?: boolean;
}
export interface GetAllChildrenNumberOp {
  readonly type: "getAllChildrenNumber";
  readonly path: string;
}
export interface GetEphemeralsOp {
  readonly type: "getEphemerals";
  /** Path prefix (plain string prefix, as ZooKeeper); "/" = all of the session's ephemerals. */
  readonly prefix: string;
}
export interface GetACLOp {
  readonly type: "getACL";
  readonly path: string;
}
export type ReadOp = GetDataOp | ExistsOp | GetChildrenOp | GetAllChildrenNumberOp | GetEphemeralsOp | GetACLOp;

// -------------------------------------------------- node-local session ops --

export interface SyncOp {
  readonly type: "sync";
  readonly path: string;
}
export interface AddWatchOp {
  readonly type: "addWatch";
  readonly path: string;
  readonly mode: AddWatchMode;
}
export interface RemoveWatchesOp {
  readonly type: "removeWatches";
  readonly path: string;
  readonly watcherType: WatcherType;
}

// ---------------------------------------------------------------- results --

export interface ErrorResult {
  readonly type: "error";
  /** A failure code; 0 (Ok) only inside the results of a failed multi. */
  readonly code: ErrorCodeValue;
  readonly path?: string;
}
export interface CreateResult {
  readonly type: "create";
  /** The created path (with its sequence suffix, if sequential). */
  readonly path: string;
  readonly stat: Stat;
}
export interface DeleteResult {
  readonly type: "delete";
}
export interface SetDataResult {
  readonly type: "setData";
  readonly stat: Stat;
}
export interface SetACLResult {
  readonly type: "setACL";
  readonly stat: Stat;
}
export interface CheckResult {
  readonly type: "check";
}
/**
 * A create inside a multi. Corral always reports the Stat; Apache ZooKeeper's
 * multi answers a create with its path only (its CreateTxn carries no Stat),
 * so a client talking to ZooKeeper gets no `stat` here.
 */
export interface MultiCreateResult {
  readonly type: "create";
  readonly path: string;
  readonly stat?: Stat;
}
export type MultiOpResult = MultiCreateResult | DeleteResult | SetDataResult | CheckResult | ErrorResult;
export interface MultiResult {
  readonly type: "multi";
  readonly results: readonly MultiOpResult[];
}
export type WriteResult = CreateResult | DeleteResult | SetDataResult | SetACLResult | MultiResult | ErrorResult;

export interface GetDataResult {
  readonly type: "getData";
  readonly data: Uint8Array;
  readonly stat: Stat;
}
export interface ExistsResult {
  readonly type: "exists";
  /** null when the node does not exist (exists is not an error in ZooKeeper). */
  readonly stat: Stat | null;
}
export interface GetChildrenResult {
  readonly type: "getChildren";
  /** Child names, sorted (UTF-16 code unit order) so every replica answers alike. */
  readonly children: readonly string[];
  readonly stat: Stat;
}
export interface GetAllChildrenNumberResult {
  readonly type: "getAllChildrenNumber";
  readonly count: number;
}
export interface GetEphemeralsResult {
  readonly type: "getEphemerals";
  readonly paths: readonly string[];
}
export interface GetACLResult {
  readonly type: "getACL";
  readonly acl: readonly ACL[];
  readonly stat: Stat;
}
export type ReadResult =
  | GetDataResult
  | ExistsResult
  | GetChildrenResult
  | GetAllChildrenNumberResult
  | GetEphemeralsResult
  | GetACLResult
  | ErrorResult;

// ------------------------------------------------------------ transactions --

export type CloseReason = "closed" | "expired";

/**
 * Opens a session. The leader chooses the id; the node the client connected
 * to chooses the secret and only its hash (`hashSessionSecret`) travels in
 * the entry, so neither the log, the snapshots nor the peers hold secrets.
 */
export interface CreateSessionTxn {
  readonly type: "createSession";
  readonly sessionId: number;
  readonly timeoutMs: number;
  /** SHA-256 of the session secret, lowercase hex. */
  readonly secretHash: string;
}
/** Closes a session and deletes its ephemerals atomically. */
export interface CloseSessionTxn {
  readonly type: "closeSession";
  readonly sessionId: number;
  readonly reason: CloseReason;
}
/** A client write. */
export interface RequestTxn {
  readonly type: "request";
  readonly sessionId: number;
  /** The session's write sequence number (1, 2, ...) for exactly-once. */
  readonly seq: number;
  /** The caller's authenticated identities, fixed by the node that proposed it. */
  readonly auth: readonly Id[];
  readonly op: WriteOp;
  /** Set only by nodes for their own writes: allows writing the reserved /corral subtree. */
  readonly system?: boolean;
  /**
   * Set on writes whose seq the node assigned (ZooKeeper-wire connections):
   * the connection that sent it (`ClaimSessionTxn.owner`). Applied only while
   * the session's owner is unset or equal; otherwise the result is
   * SessionMoved and no seq is consumed. Absent: client-assigned seqs
   * (exactly-once across failover), never checked against the owner.
   */
  readonly owner?: string;
}
/**
 * A ZooKeeper-wire connection takes over a session (a reconnect): from now on
 * only writes tagged with `owner` are applied. Moves the session's seq past a
 * gap (SESSION_CLAIM_SEQ_GAP) so seqs the old owner may still have in flight
 * can never be confused with the new owner's. Idempotent for the same owner.
 */
export interface ClaimSessionTxn {
  readonly type: "claimSession";
  readonly sessionId: number;
  readonly owner: string;
}
/** Leader-proposed delete of a container or expired TTL node; the condition is re-checked at apply. */
export interface ReapTxn {
  readonly type: "reap";
  readonly path: string;
  readonly kind: "container" | "ttl";
}
export interface NoopTxn {
  readonly type: "noop";
}
export type Txn = CreateSessionTxn | CloseSessionTxn | ClaimSessionTxn | RequestTxn | ReapTxn | NoopTxn;

/**
 * How far a claim moves a session's lastSeq: more than any owner can have in
 * flight (a node keeps at most 2 x maxOutstandingPerSession writes of one
 * connection), so every owner's node-assigned seqs are a range of their own.
 */
export const SESSION_CLAIM_SEQ_GAP = 2 ** 20;
/** Longest owner tag of a claim or a tagged write. */
export const MAX_SESSION_OWNER_LENGTH = 256;

export interface CreateSessionResult {
  readonly type: "createSession";
  readonly sessionId: number;
}
export interface CloseSessionResult {
  readonly type: "closeSession";
  readonly sessionId: number;
  /** The ephemerals deleted, sorted. */
  readonly deleted: readonly string[];
}
export interface ClaimSessionResult {
  readonly type: "claimSession";
  readonly sessionId: number;
  /** The session's lastSeq once claimed: the owner's first write carries lastSeq + 1. */
  readonly lastSeq: number;
}
export interface ReapResult {
  readonly type: "reap";
  readonly path: string;
}
export interface NoopResult {
  readonly type: "noop";
}
export type TxnResult = WriteResult | CreateSessionResult | CloseSessionResult | ClaimSessionResult | ReapResult | NoopResult;

// ---------------------------------------------------------------- helpers --

export function errorResult(code: ErrorCodeValue, path?: string): ErrorResult {
  return path === undefined ? { type: "error", code } : { type: "error", code, path };
}

export function isErrorResult(result: { readonly type: string }): result is ErrorResult {
  return result.type === "error";
}

/** For a multi result: the index and error of the failing op, or undefined if it succeeded. */
export function multiFailure(result: MultiResult): { index: number; error: ErrorResult } | undefined {
  for (let index = 0; index < result.results.length; index++) {
    const entry = result.results[index];
    if (entry !== undefined && entry.type === "error" && entry.code !== ErrorCode.Ok && entry.code !== ErrorCode.RuntimeInconsistency) {
      return { index, error: entry };
    }
  }
  return undefined;
}
