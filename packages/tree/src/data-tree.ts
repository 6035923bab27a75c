/**
 * The replicated state machine: znodes, sessions, the exactly-once table.
 *
 * `apply(txn, ctx)` is pure and deterministic: the same entries in the same
 * order give the same tree, results and digest on every replica. Validation
 * happens here, at apply time: a write that fails is an entry whose result is
 * the error, and it changes nothing (multi undoes its earlier ops).
 *
 * Memory: one small object per znode, children as a lazily created Set of
 * names (leaves carry none), ACL lists interned and shared.
 */
import type {
  ACL,
  CloseReason,
  CreateOp,
  DeleteOp,
  ErrorCodeValue,
  ErrorResult,
  Id,
  MultiOpResult,
  MultiSubOp,
  ReadOp,
  ReadResult,
  SetACLOp,
  SetDataOp,
  Stat,
  Txn,
  TxnResult,
  WriteOp,
  WriteResult,
} from "@corral/protocol";
import {
  CorralCode,
  CreateMode,
  ErrorCode,
  OPEN_ACL_UNSAFE,
  Perms,
  SESSION_CLAIM_SEQ_GAP,
  errorResult,
  isEphemeralMode,
  isReservedPath,
  isSequentialMode,
  isTtlMode,
  joinPath,
  parentPath,
  basename,
  sequentialPath,
  validatePath,
} from "@corral/protocol";
import type { AclEntry, AuthContext } from "./acl.js";
import { AclCache, READ_OR_ADMIN, fixupAcl, hashAcl, isSuper, permitted, redactAcl } from "./acl.js";
import { Digest, hashBytes, hashInt, hashStart, hashString } from "./digest.js";
import type { SnapshotError } from "./errors.js";
import { invariant } from "./errors.js";
import { readSnapshot, writeSnapshot } from "./snapshot.js";

/** Configurable limits of the tree. */
export interface TreeLimits {
  /** Largest znode data, bytes (ZooKeeper's jute.maxbuffer default is ~1 MiB). */
  readonly maxDataBytes: number;
  readonly maxMultiOps: number;
  readonly maxPathLength: number;
  readonly maxAclEntries: number;
  /** Remembered results per session for re-sent writes (the exactly-once window). */
  readonly exactlyOnceWindow: number;
  /** Largest TTL (ZooKeeper: 2^40 - 1 ms). */
  readonly maxTtlMs: number;
}
export const defaultTreeLimits: TreeLimits = Object.freeze({
  maxDataBytes: 1024 * 1024,
  maxMultiOps: 1000,
  maxPathLength: 4096,
  maxAclEntries: 256,
  exactlyOnceWindow: 64,
  maxTtlMs: 2 ** 40 - 1,
});

export interface TreeConfig {
  readonly limits?: Partial<TreeLimits>;
  /** "super:base64(sha1(super:password))" (see digestId): a caller authenticated with it bypasses ACLs. */
  readonly superDigest?: string;
}

/** A change applied to the tree, in order: what watches fire on. */
/**
 * One change of an applied entry, for watches. `acl` is the ACL that decides
 * who may see its events: the node's (as it was, for a deletion), the
 * parent's for childrenChanged. Absent when unknown (a restore).
 */
export type TreeChange =
  | { readonly type: "created"; readonly path: string; readonly acl?: readonly ACL[] }
  | { readonly type: "deleted"; readonly path: string; readonly acl?: readonly ACL[] }
  | { readonly type: "dataChanged"; readonly path: string; readonly acl?: readonly ACL[] }
  | { readonly type: "childrenChanged"; readonly path: string; readonly acl?: readonly ACL[] };

export type SessionEvent =
  | { readonly type: "created"; readonly sessionId: number; readonly timeoutMs: number }
  | { readonly type: "closed"; readonly sessionId: number; readonly reason: CloseReason };

export interface ApplyOutcome {
  readonly result: TxnResult;
  readonly changes: readonly TreeChange[];
  readonly sessionEvents?: readonly SessionEvent[];
  /** True when a re-sent request was answered from the exactly-once table without applying. */
  readonly replayed?: boolean;
}

export interface ApplyContext {
  /** The entry's Raft log index: strictly increasing. */
  readonly zxid: number;
  /** Wall-clock time fixed by the leader when it proposed the entry. */
  readonly timeMs: number;
}

/** Who is reading: the session (for getEphemerals) and its authenticated ids. */
export interface ReadContext {
  readonly sessionId: number;
  readonly auth: readonly Id[];
}

export interface SessionInfo {
  readonly sessionId: number;
  readonly timeoutMs: number;
  /** SHA-256 of the session secret (hex): the secret itself is never replicated. */
  readonly secretHash: string;
  /** Highest write sequence applied for this session (0 before the first). */
  readonly lastSeq: number;
  /** The ZooKeeper-wire connection that last claimed the session (ClaimSessionTxn); undefined: never claimed. */
  readonly owner?: string;
}

export interface ReapCandidate {
  readonly path: string;
  readonly kind: "container" | "ttl";
}

export const NodeKind = { Normal: 0, Container: 1, Ttl: 2 } as const;
export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];

/** @internal One znode. Plain fields only: there may be millions. */
export class ZNode {
  children: Set<string> | undefined = undefined;
  constructor(
    public data: Uint8Array,
    public acl: AclEntry,
    public czxid: number,
    public mzxid: number,
    public pzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: number,
    public kind: NodeKind,
    public ttlMs: number,
  ) {}
}

/** @internal */
export interface SessionState {
  readonly sessionId: number;
  readonly timeoutMs: number;
  readonly secretHash: string;
  lastSeq: number;
  /** Who may write with node-assigned seqs (ClaimSessionTxn); undefined until first claimed. */
  owner: string | undefined;
  /** Recent results, oldest first, at most `exactlyOnceWindow`. */
  readonly results: { readonly seq: number; readonly result: TxnResult }[];
  readonly ephemerals: Set<string>;
}

const EMPTY_DATA = new Uint8Array(0);
const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_PIECE_BYTES = 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * Copies znode data. Small values are carved out of shared 64 KiB slabs: a
 * separate ArrayBuffer per znode costs more than the data itself at a million
 * nodes. A slab is freed by GC once no znode views it.
 */
function copyData(data: Uint8Array): Uint8Array {
  const length = data.byteLength;
  if (length === 0) return EMPTY_DATA;
  if (length > SLAB_MAX_PIECE_BYTES) return data.slice();
  if (slabUsed + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const piece = slab.subarray(slabUsed, slabUsed + length);
  piece.set(data);
  slabUsed += length;
  return piece;
}
const HASH_NODE_META = 1;
const HASH_NODE_DATA = 2;
const HASH_SESSION = 3;

/** Thrown inside a write to abort it with a result code; always caught in this module. */
class Abort {
  constructor(
    readonly code: ErrorCodeValue,
    readonly path: string,
  ) {}
}

export class DataTree {
  readonly limits: TreeLimits;
  readonly superDigest: string | undefined;
  /** @internal */ readonly nodes = new Map<string, ZNode>();
  /** @internal */ readonly sessionTable = new Map<number, SessionState>();
  /** @internal */ readonly containers = new Set<string>();
  /** @internal */ readonly ttls = new Set<string>();
  /** @internal */ readonly aclCache = new AclCache();
  /** @internal */ readonly digestSum = new Digest();
  /** @internal */ lastZxidApplied = 0;
  /** Undo actions of the multi being applied (undefined outside a multi). */
  private undoLog: (() => void)[] | undefined = undefined;
  private changes: TreeChange[] = [];

  constructor(config: TreeConfig = {}) {
    this.limits = Object.freeze({ ...defaultTreeLimits, ...config.limits });
    this.superDigest = config.superDigest;
    const root = new ZNode(EMPTY_DATA, this.aclCache.acquire(OPEN_ACL_UNSAFE), 0, 0, 0, 0, 0, 0, 0, 0, 0, NodeKind.Normal, 0);
    this.insertNode("/", root);
  }

  /** Deterministic serialization of the whole tree, sessions and exactly-once table. */
  snapshot(): Uint8Array {
    return writeSnapshot(this);
  }

  /** Rebuilds a tree from `snapshot()` bytes; a typed error (never a throw) for bad bytes. */
  static restore(bytes: Uint8Array, config: TreeConfig = {}): DataTree | SnapshotError {
    return readSnapshot(bytes, config);
  }

  /** @internal Used by restore only: the snapshot brings its own root. */
  removeRootForRestore(root: ZNode): void {
    invariant(this.nodes.size === 1 && this.nodes.get("/") === root, "restore: tree not fresh");
    this.hashMeta("/", root, -1);
    this.hashData("/", root, -1);
    this.aclCache.release(root.acl);
    this.nodes.delete("/");
  }

  // ------------------------------------------------------------ queries --

  /** zxid of the last applied entry. */
  get lastZxid(): number {
    return this.lastZxidApplied;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  /** The incremental digest of nodes and sessions, 16 hex digits. */
  digest(): string {
    return this.digestSum.toString();
  }

  /** Live sessions, by id, for the leader's session tracker. */
  sessions(): SessionInfo[] {
    return [...this.sessionTable.values()]
      .sort((a, b) => a.sessionId - b.sessionId)
      .map((s) => sessionInfo(s));
  }

  session(sessionId: number): SessionInfo | undefined {
    const s = this.sessionTable.get(sessionId);
    return s === undefined ? undefined : sessionInfo(s);
  }

  /** Stat of a node, or undefined (no ACL check: for the node's own bookkeeping, e.g. watch re-registration). */
  statOf(path: string): Stat | undefined {
    const node = this.nodes.get(path);
    return node === undefined ? undefined : this.stat(node);
  }

  /** Serves a read. Never throws on bad input: errors are results. */
  read(op: ReadOp, context: ReadContext): ReadResult {
    const auth: AuthContext = { auth: context.auth, superDigest: this.superDigest };
    if (op.type === "getEphemerals") {
      const session = this.sessionTable.get(context.sessionId);
      if (session === undefined) return errorResult(ErrorCode.SessionExpired);
      const prefix = op.prefix === "/" ? "" : op.prefix;
      const paths = [...session.ephemerals].filter((p) => p.startsWith(prefix)).sort(compareStrings);
      return { type: "getEphemerals", paths };
    }
    if (validatePath(op.path, { limits: this.limits }) !== undefined) return errorResult(ErrorCode.BadArguments, String(op.path));
    const node = this.nodes.get(op.path);
    if (op.type === "exists") return { type: "exists", stat: node === undefined ? null : this.stat(node) };
    if (node === undefined) return errorResult(ErrorCode.NoNode, op.path);
    switch (op.type) {
      case "getData":
        if (!permitted(node.acl.acl, Perms.READ, auth)) return errorResult(ErrorCode.NoAuth, op.path);
        return { type: "getData", data: node.data, stat: this.stat(node) };
      case "getChildren":
        if (!permitted(node.acl.acl, Perms.READ, auth)) return errorResult(ErrorCode.NoAuth, op.path);
        return { type: "getChildren", children: node.children === undefined ? [] : [...node.children].sort(compareStrings), stat: this.stat(node) };
      case "getAllChildrenNumber":
        if (!permitted(node.acl.acl, Perms.READ, auth)) return errorResult(ErrorCode.NoAuth, op.path);
        return { type: "getAllChildrenNumber", count: op.path === "/" ? this.nodes.size - 1 : this.countDescendants(op.path, node) };
      case "getACL": {
        if (!permitted(node.acl.acl, READ_OR_ADMIN, auth)) return errorResult(ErrorCode.NoAuth, op.path);
        const admin = permitted(node.acl.acl, Perms.ADMIN, auth) || isSuper(auth);
        return { type: "getACL", acl: admin ? node.acl.acl : redactAcl(node.acl.acl), stat: this.stat(node) };
      }
    }
  }

  /** Containers that had children and have none, and TTL nodes without children idle longer than their TTL. Sorted by path. */
  findReapable(nowMs: number): ReapCandidate[] {
    const out: ReapCandidate[] = [];
    for (const path of this.containers) {
      const node = this.nodes.get(path);
      if (node !== undefined && this.isReapable(node, "container", nowMs)) out.push({ path, kind: "container" });
    }
    for (const path of this.ttls) {
      const node = this.nodes.get(path);
      if (node !== undefined && this.isReapable(node, "ttl", nowMs)) out.push({ path, kind: "ttl" });
    }
    return out.sort((a, b) => compareStrings(a.path, b.path));
  }

  // -------------------------------------------------------------- apply --

  apply(txn: Txn, ctx: ApplyContext): ApplyOutcome {
    invariant(Number.isSafeInteger(ctx.zxid) && ctx.zxid > this.lastZxidApplied, `zxid ${ctx.zxid} not after ${this.lastZxidApplied}`);
    invariant(Number.isSafeInteger(ctx.timeMs) && ctx.timeMs >= 0, `bad entry time ${ctx.timeMs}`);
    this.lastZxidApplied = ctx.zxid;
    this.changes = [];
    switch (txn.type) {
      case "noop":
        return { result: { type: "noop" }, changes: [] };
      case "createSession":
        return this.applyCreateSession(txn.sessionId, txn.timeoutMs, txn.secretHash);
      case "closeSession":
        return this.applyCloseSession(txn.sessionId, txn.reason, ctx);
      case "claimSession":
        return this.applyClaimSession(txn.sessionId, txn.owner);
      case "reap": {
        const result = this.applyReap(txn.path, txn.kind, ctx);
        return { result, changes: this.takeChanges() };
      }
      case "request": {
        const session = this.sessionTable.get(txn.sessionId);
        if (session === undefined) return { result: errorResult(ErrorCode.SessionExpired), changes: [] };
        // Before the exactly-once check: a stale owner's seq may equal one the current owner has used.
        if (txn.owner !== undefined && session.owner !== undefined && txn.owner !== session.owner) {
          return { result: errorResult(ErrorCode.SessionMoved), changes: [] };
        }
        if (txn.seq <= session.lastSeq) {
          const remembered = session.results.find((r) => r.seq === txn.seq);
          return { result: remembered?.result ?? errorResult(CorralCode.RequestForgotten), changes: [], replayed: true };
        }
        // A gap (seq > lastSeq + 1) means a node lost or reordered a forwarded write; we accept
        // it and record, because refusing would wedge the session for good (documented).
        const result = this.applyWrite(txn.op, { auth: txn.auth, superDigest: this.superDigest }, txn.system === true, txn.sessionId, ctx);
        this.hashSession(session, -1);
        session.lastSeq = txn.seq;
        this.hashSession(session, 1);
        session.results.push({ seq: txn.seq, result });
        if (session.results.length > this.limits.exactlyOnceWindow) session.results.shift();
        return { result, changes: this.takeChanges() };
      }
    }
  }

  private takeChanges(): TreeChange[] {
    const out = this.changes;
    this.changes = [];
    return out;
  }

  private applyCreateSession(sessionId: number, timeoutMs: number, secretHash: string): ApplyOutcome {
    const existing = this.sessionTable.get(sessionId);
    if (existing !== undefined) {
      // A leader re-proposing the same session is harmless; a different secret is a bug upstream.
      if (existing.secretHash === secretHash && existing.timeoutMs === timeoutMs) return { result: { type: "createSession", sessionId }, changes: [] };
      return { result: errorResult(ErrorCode.BadArguments), changes: [] };
    }
    const session: SessionState = { sessionId, timeoutMs, secretHash, lastSeq: 0, owner: undefined, results: [], ephemerals: new Set() };
    this.sessionTable.set(sessionId, session);
    this.hashSession(session, 1);
    return { result: { type: "createSession", sessionId }, changes: [], sessionEvents: [{ type: "created", sessionId, timeoutMs }] };
  }

  /**
   * A ZooKeeper-wire connection takes the session over. The seq jumps by
   * SESSION_CLAIM_SEQ_GAP so the new owner's seqs never meet the old owner's
   * (whose unapplied writes now answer SessionMoved). Re-applying the same
   * owner's claim changes nothing (a node re-sends until it sees it applied).
   */
  private applyClaimSession(sessionId: number, owner: string): ApplyOutcome {
    const session = this.sessionTable.get(sessionId);
    if (session === undefined) return { result: errorResult(ErrorCode.SessionExpired), changes: [] };
    if (session.owner !== owner) {
      invariant(session.lastSeq + SESSION_CLAIM_SEQ_GAP <= Number.MAX_SAFE_INTEGER, `session ${sessionId}: seq space exhausted`);
      this.hashSession(session, -1);
      session.owner = owner;
      session.lastSeq += SESSION_CLAIM_SEQ_GAP;
      this.hashSession(session, 1);
    }
    return { result: { type: "claimSession", sessionId, lastSeq: session.lastSeq }, changes: [] };
  }

  private applyCloseSession(sessionId: number, reason: CloseReason, ctx: ApplyContext): ApplyOutcome {
    const session = this.sessionTable.get(sessionId);
    if (session === undefined) return { result: errorResult(ErrorCode.SessionExpired), changes: [] };
    const deleted = [...session.ephemerals].sort(compareStrings);
    for (const path of deleted) {
      const node = this.nodes.get(path);
      invariant(node !== undefined && node.children === undefined, `ephemeral ${path} missing or has children`);
      this.deleteNode(path, node, ctx.zxid);
    }
    invariant(session.ephemerals.size === 0, "ephemerals left after closeSession");
    this.hashSession(session, -1);
    this.sessionTable.delete(sessionId);
    return { result: { type: "closeSession", sessionId, deleted }, changes: this.takeChanges(), sessionEvents: [{ type: "closed", sessionId, reason }] };
  }

  private isReapable(node: ZNode, kind: "container" | "ttl", nowMs: number): boolean {
    if (node.children !== undefined) return false;
    if (kind === "container") return node.kind === NodeKind.Container && node.cversion > 0;
    return node.kind === NodeKind.Ttl && nowMs - node.mtime > node.ttlMs;
  }

  private applyReap(path: string, kind: "container" | "ttl", ctx: ApplyContext): TxnResult {
    const node = this.nodes.get(path);
    if (node === undefined || path === "/") return errorResult(ErrorCode.NoNode, path);
    if (node.children !== undefined) return errorResult(ErrorCode.NotEmpty, path);
    // Like ZooKeeper's deleteContainer: a node that is not (or no longer) reapable answers BadVersion.
    if (!this.isReapable(node, kind, ctx.timeMs)) return errorResult(ErrorCode.BadVersion, path);
    this.deleteNode(path, node, ctx.zxid);
    return { type: "reap", path };
  }

  private applyWrite(op: WriteOp, auth: AuthContext, system: boolean, sessionId: number, ctx: ApplyContext): WriteResult {
    if (op.type === "multi") return this.applyMulti(op.ops, auth, system, sessionId, ctx);
    try {
      switch (op.type) {
        case "create":
          return this.create(op, auth, system, sessionId, ctx);
        case "delete":
          return this.delete(op, auth, system, ctx);
        case "setData":
          return this.setData(op, auth, system, ctx);
        case "setACL":
          return this.setAcl(op, auth, system);
      }
    } catch (error) {
      if (error instanceof Abort) return errorResult(error.code, error.path);
      throw error;
    }
  }

  private applyMulti(ops: readonly MultiSubOp[], auth: AuthContext, system: boolean, sessionId: number, ctx: ApplyContext): WriteResult {
    if (ops.length > this.limits.maxMultiOps) return errorResult(CorralCode.LimitExceeded);
    const undo: (() => void)[] = [];
    this.undoLog = undo;
    const results: MultiOpResult[] = [];
    let failedAt = -1;
    let failure: ErrorResult | undefined;
    try {
      for (let index = 0; index < ops.length; index++) {
        const op = ops[index]!;
        try {
          switch (op.type) {
            case "create":
              results.push(this.create(op, auth, system, sessionId, ctx));
              break;
            case "delete":
              results.push(this.delete(op, auth, system, ctx));
              break;
            case "setData":
              results.push(this.setData(op, auth, system, ctx));
              break;
            case "check":
              this.check(op.path, op.version, auth);
              results.push({ type: "check" });
              break;
          }
        } catch (error) {
          if (!(error instanceof Abort)) throw error;
          failedAt = index;
          failure = errorResult(error.code, error.path);
          break;
        }
      }
    } finally {
      this.undoLog = undefined;
    }
    if (failure === undefined) return { type: "multi", results };
    // All or nothing: undo in reverse, drop the changes, and report like ZooKeeper's DataTree.
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
    this.changes = [];
    return {
      type: "multi",
      results: ops.map((_, index) =>
        index < failedAt ? errorResult(ErrorCode.Ok) : index === failedAt ? failure : errorResult(ErrorCode.RuntimeInconsistency),
      ),
    };
  }

  // ---------------------------------------------------------- write ops --

  private checkWritablePath(path: string, system: boolean, sequential = false): void {
    if (validatePath(path, { sequential, limits: this.limits }) !== undefined) throw new Abort(ErrorCode.BadArguments, String(path));
    if (!system && isReservedPath(path)) throw new Abort(ErrorCode.BadArguments, path);
  }

  private create(op: CreateOp, auth: AuthContext, system: boolean, sessionId: number, ctx: ApplyContext): { type: "create"; path: string; stat: Stat } {
    const mode = op.mode;
    const sequential = isSequentialMode(mode);
    this.checkWritablePath(op.path, system, sequential);
    if (!sequential && op.path === "/") throw new Abort(ErrorCode.NodeExists, op.path);
    if (isTtlMode(mode)) {
      if (op.ttlMs === undefined || !Number.isSafeInteger(op.ttlMs) || op.ttlMs <= 0 || op.ttlMs > this.limits.maxTtlMs) throw new Abort(ErrorCode.BadArguments, op.path);
    } else if (op.ttlMs !== undefined) {
      throw new Abort(ErrorCode.BadArguments, op.path);
    }
    if (op.data.byteLength > this.limits.maxDataBytes) throw new Abort(CorralCode.LimitExceeded, op.path);
    const acl = fixupAcl(op.acl, auth.auth, this.limits.maxAclEntries);
    if (acl === undefined) throw new Abort(ErrorCode.InvalidACL, op.path);
    const parentName = parentPath(op.path);
    const parent = this.nodes.get(parentName);
    if (parent === undefined) throw new Abort(ErrorCode.NoNode, op.path);
    if (!permitted(parent.acl.acl, Perms.CREATE, auth)) throw new Abort(ErrorCode.NoAuth, op.path);
    const path = sequential ? sequentialPath(op.path, parent.cversion) : op.path;
    if (sequential && validatePath(path, { limits: this.limits }) !== undefined) throw new Abort(ErrorCode.BadArguments, path);
    if (this.nodes.has(path)) throw new Abort(ErrorCode.NodeExists, path);
    if (parent.ephemeralOwner !== 0) throw new Abort(ErrorCode.NoChildrenForEphemerals, path);

    const kind = mode === CreateMode.Container ? NodeKind.Container : isTtlMode(mode) ? NodeKind.Ttl : NodeKind.Normal;
    const owner = isEphemeralMode(mode) ? sessionId : 0;
    const data = copyData(op.data);
    const node = new ZNode(data, this.aclCache.acquire(acl), ctx.zxid, ctx.zxid, ctx.zxid, ctx.timeMs, ctx.timeMs, 0, 0, 0, owner, kind, kind === NodeKind.Ttl ? op.ttlMs! : 0);
    const oldCversion = parent.cversion;
    const oldPzxid = parent.pzxid;
    this.updateMeta(parentName, parent, () => {
      parent.cversion = oldCversion + 1;
      parent.pzxid = ctx.zxid;
    });
    this.insertNode(path, node);
    this.undoLog?.push(() => {
      this.removeNode(path, node);
      this.aclCache.release(node.acl);
      this.updateMeta(parentName, parent, () => {
        parent.cversion = oldCversion;
        parent.pzxid = oldPzxid;
      });
    });
    this.changes.push({ type: "created", path, acl: node.acl.acl }, { type: "childrenChanged", path: parentName, acl: parent.acl.acl });
    return { type: "create", path, stat: this.stat(node) };
  }

  private delete(op: DeleteOp, auth: AuthContext, system: boolean, ctx: ApplyContext): { type: "delete" } {
    this.checkWritablePath(op.path, system);
    if (op.path === "/") throw new Abort(ErrorCode.BadArguments, op.path);
    const parentName = parentPath(op.path);
    const parent = this.nodes.get(parentName);
    if (parent === undefined) throw new Abort(ErrorCode.NoNode, op.path);
    // ZooKeeper's order (PrepRequestProcessor): the parent's DELETE permission before the node's existence,
    // so a caller without it learns nothing about which children exist.
    if (!permitted(parent.acl.acl, Perms.DELETE, auth)) throw new Abort(ErrorCode.NoAuth, op.path);
    const node = this.nodes.get(op.path);
    if (node === undefined) throw new Abort(ErrorCode.NoNode, op.path);
    if (op.version !== -1 && node.version !== op.version) throw new Abort(ErrorCode.BadVersion, op.path);
    if (node.children !== undefined) throw new Abort(ErrorCode.NotEmpty, op.path);
    this.deleteNode(op.path, node, ctx.zxid);
    return { type: "delete" };
  }

  /** Removes a childless node, updates its parent, records the changes and the undo. */
  private deleteNode(path: string, node: ZNode, zxid: number): void {
    const parentName = parentPath(path);
    const parent = this.nodes.get(parentName);
    invariant(parent !== undefined, `parent of ${path} missing`);
    const oldPzxid = parent.pzxid;
    this.removeNode(path, node);
    this.aclCache.release(node.acl);
    // ZooKeeper 3.5+: a delete moves pzxid (never backwards) but not cversion.
    if (zxid > oldPzxid) this.updateMeta(parentName, parent, () => (parent.pzxid = zxid));
    this.undoLog?.push(() => {
      this.updateMeta(parentName, parent, () => (parent.pzxid = oldPzxid));
      node.acl = this.aclCache.acquire(node.acl.acl);
      this.insertNode(path, node);
    });
    this.changes.push({ type: "deleted", path, acl: node.acl.acl }, { type: "childrenChanged", path: parentName, acl: parent.acl.acl });
  }

  private setData(op: SetDataOp, auth: AuthContext, system: boolean, ctx: ApplyContext): { type: "setData"; stat: Stat } {
    this.checkWritablePath(op.path, system);
    if (op.data.byteLength > this.limits.maxDataBytes) throw new Abort(CorralCode.LimitExceeded, op.path);
    const node = this.nodes.get(op.path);
    if (node === undefined) throw new Abort(ErrorCode.NoNode, op.path);
    if (!permitted(node.acl.acl, Perms.WRITE, auth)) throw new Abort(ErrorCode.NoAuth, op.path);
    if (op.version !== -1 && node.version !== op.version) throw new Abort(ErrorCode.BadVersion, op.path);
    const old = { data: node.data, version: node.version, mzxid: node.mzxid, mtime: node.mtime };
    const path = op.path;
    this.updateData(path, node, copyData(op.data));
    this.updateMeta(path, node, () => {
      node.version = old.version + 1;
      node.mzxid = ctx.zxid;
      node.mtime = ctx.timeMs;
    });
    this.undoLog?.push(() => {
      this.updateData(path, node, old.data);
      this.updateMeta(path, node, () => {
        node.version = old.version;
        node.mzxid = old.mzxid;
        node.mtime = old.mtime;
      });
    });
    this.changes.push({ type: "dataChanged", path, acl: node.acl.acl });
    return { type: "setData", stat: this.stat(node) };
  }

  private setAcl(op: SetACLOp, auth: AuthContext, system: boolean): { type: "setACL"; stat: Stat } {
    this.checkWritablePath(op.path, system);
    const acl = fixupAcl(op.acl, auth.auth, this.limits.maxAclEntries);
    if (acl === undefined) throw new Abort(ErrorCode.InvalidACL, op.path);
    const node = this.nodes.get(op.path);
    if (node === undefined) throw new Abort(ErrorCode.NoNode, op.path);
    if (!permitted(node.acl.acl, Perms.ADMIN, auth)) throw new Abort(ErrorCode.NoAuth, op.path);
    if (op.version !== -1 && node.aversion !== op.version) throw new Abort(ErrorCode.BadVersion, op.path);
    const entry = this.aclCache.acquire(acl);
    this.updateMeta(op.path, node, () => {
      this.aclCache.release(node.acl);
      node.acl = entry;
      node.aversion++;
    });
    return { type: "setACL", stat: this.stat(node) };
  }

  private check(path: string, version: number, auth: AuthContext): void {
    if (validatePath(path, { limits: this.limits }) !== undefined) throw new Abort(ErrorCode.BadArguments, String(path));
    const node = this.nodes.get(path);
    if (node === undefined) throw new Abort(ErrorCode.NoNode, path);
    if (!permitted(node.acl.acl, Perms.READ, auth)) throw new Abort(ErrorCode.NoAuth, path);
    if (version !== -1 && node.version !== version) throw new Abort(ErrorCode.BadVersion, path);
  }

  // ----------------------------------------------- primitives (+ digest) --

  /** @internal Adds a node whose parent exists; indexes and digest follow. */
  insertNode(path: string, node: ZNode): void {
    invariant(!this.nodes.has(path), `insert over existing ${path}`);
    if (path !== "/") {
      const parent = this.nodes.get(parentPath(path));
      invariant(parent !== undefined, `insert ${path} without parent`);
      (parent.children ??= new Set()).add(basename(path));
    }
    this.nodes.set(path, node);
    if (node.kind === NodeKind.Container) this.containers.add(path);
    else if (node.kind === NodeKind.Ttl) this.ttls.add(path);
    if (node.ephemeralOwner !== 0) {
      const session = this.sessionTable.get(node.ephemeralOwner);
      invariant(session !== undefined, `ephemeral ${path} of unknown session ${node.ephemeralOwner}`);
      session.ephemerals.add(path);
    }
    this.hashMeta(path, node, 1);
    this.hashData(path, node, 1);
  }

  private removeNode(path: string, node: ZNode): void {
    invariant(node.children === undefined, `remove ${path} with children`);
    const parent = this.nodes.get(parentPath(path));
    invariant(parent?.children !== undefined, `remove ${path}: parent has no children`);
    parent.children.delete(basename(path));
    if (parent.children.size === 0) parent.children = undefined;
    this.nodes.delete(path);
    this.containers.delete(path);
    this.ttls.delete(path);
    if (node.ephemeralOwner !== 0) this.sessionTable.get(node.ephemeralOwner)?.ephemerals.delete(path);
    this.hashMeta(path, node, -1);
    this.hashData(path, node, -1);
  }

  private updateMeta(path: string, node: ZNode, mutate: () => void): void {
    this.hashMeta(path, node, -1);
    mutate();
    this.hashMeta(path, node, 1);
  }

  private updateData(path: string, node: ZNode, data: Uint8Array): void {
    this.hashData(path, node, -1);
    node.data = data;
    this.hashData(path, node, 1);
  }

  private hashMeta(path: string, node: ZNode, sign: 1 | -1): void {
    hashStart(HASH_NODE_META);
    hashString(path);
    hashInt(node.czxid);
    hashInt(node.mzxid);
    hashInt(node.pzxid);
    hashInt(node.ctime);
    hashInt(node.mtime);
    hashInt(node.version);
    hashInt(node.cversion);
    hashInt(node.aversion);
    hashInt(node.ephemeralOwner);
    hashInt(node.kind);
    hashInt(node.ttlMs);
    hashAcl(node.acl);
    this.digestSum.accumulate(sign);
  }

  private hashData(path: string, node: ZNode, sign: 1 | -1): void {
    hashStart(HASH_NODE_DATA);
    hashString(path);
    hashBytes(node.data);
    this.digestSum.accumulate(sign);
  }

  /** @internal */
  hashSession(session: SessionState, sign: 1 | -1): void {
    hashStart(HASH_SESSION);
    hashInt(session.sessionId);
    hashInt(session.timeoutMs);
    hashString(session.secretHash);
    hashInt(session.lastSeq);
    // Only when set: trees that never saw a claim keep the digest they always had.
    if (session.owner !== undefined) hashString(session.owner);
    this.digestSum.accumulate(sign);
  }

  /** @internal */
  stat(node: ZNode): Stat {
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      pzxid: node.pzxid,
      ctime: node.ctime,
      mtime: node.mtime,
      version: node.version,
      // ZooKeeper's DataNode.copyStat: the node counts child creations (the sequential suffix uses that
      // count); the Stat reports changes, creations plus deletions: every create has a delete except for
      // the children still present.
      cversion: node.cversion * 2 - (node.children?.size ?? 0),
      aversion: node.aversion,
      ephemeralOwner: node.ephemeralOwner,
      dataLength: node.data.byteLength,
      numChildren: node.children?.size ?? 0,
    };
  }

  private countDescendants(path: string, node: ZNode): number {
    let count = 0;
    const stack: [string, ZNode][] = [[path, node]];
    while (stack.length > 0) {
      const [p, n] = stack.pop()!;
      if (n.children === undefined) continue;
      for (const name of n.children) {
        const childPath = joinPath(p, name);
        const child = this.nodes.get(childPath);
        invariant(child !== undefined, `child ${childPath} missing`);
        count++;
        stack.push([childPath, child]);
      }
    }
    return count;
  }

  /** @internal The ACL list of a node (for snapshot). */
  aclOf(node: ZNode): readonly ACL[] {
    return node.acl.acl;
  }
}

function sessionInfo(s: SessionState): SessionInfo {
  const info = { sessionId: s.sessionId, timeoutMs: s.timeoutMs, secretHash: s.secretHash, lastSeq: s.lastSeq };
  return s.owner === undefined ? info : { ...info, owner: s.owner };
}

/** Code-unit order, the same on every replica (localeCompare is not). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
