/**
 * Pure conversions between ZooKeeper's wire shapes (jute records) and
 * Corral's protocol types (ops.ts, types.ts, session.ts), and the mapping of
 * error codes.
 *
 * Error codes: Corral numbers ZooKeeper's codes exactly as
 * KeeperException.Code (3.9), so those map to themselves. Corral's own codes
 * (1000..1999) must never reach a ZooKeeper client: the Java client throws
 * IllegalArgumentException on a code it does not know. `corralErrorToZk`
 * says what to send instead, or that the connection must be closed.
 */
import { CorralCode, ErrorCode, type ErrorCodeValue } from "../errors.js";
import type {
  AddWatchOp,
  CreateOp,
  GetChildrenOp,
  GetDataOp,
  MultiOpResult,
  MultiSubOp,
  ReadResult,
  RemoveWatchesOp,
  WriteResult,
} from "../ops.js";
import type { AddAuthOp, ClientOp, SessionOpResult, WatchSet } from "../session.js";
import type { ACL, CreateMode, Stat, WatchEvent } from "../types.js";
import { isCreateMode, isTtlMode } from "../types.js";
import { isInt32 } from "./archive.js";
import { JuteError } from "./errors.js";
import {
  ZkXid,
  type ZkACL,
  type ZkCreateRequest,
  type ZkCreateTTLRequest,
  type ZkMultiReadOp,
  type ZkMultiResult,
  type ZkMultiWriteOp,
  type ZkRequest,
  type ZkResponse,
  type ZkStat,
} from "./records.js";
import type { ZkServerReply } from "./packets.js";

// ------------------------------------------------------------ error codes --

/** Every KeeperException.Code of ZooKeeper 3.9 (what a 3.9 client can decode). */
export const ZK_ERROR_CODES: readonly number[] = Object.freeze([
  0, -1, -2, -3, -4, -5, -6, -7, -8, -12, -13, -14, -100, -101, -102, -103, -108, -110, -111, -112, -113, -114, -115, -118, -119, -120, -121,
  -122, -123, -124, -125, -127,
]);
const zkCodes: ReadonlySet<number> = new Set(ZK_ERROR_CODES);

export function isZkErrorCode(code: unknown): code is number {
  return typeof code === "number" && zkCodes.has(code);
}

/** What a server does with a Corral error code on a ZooKeeper connection. */
export type ZkErrorDisposition =
  /** Reply to the request with this KeeperException.Code. */
  | { readonly action: "reply"; readonly zkCode: number }
  /** Close the connection (ZooKeeper does); `zkCode` is what to use where a code is still needed (inside a multi). */
  | { readonly action: "close"; readonly zkCode: number; readonly reason: string };

/**
 * Corral codes without a ZooKeeper equivalent, and codes ZooKeeper answers by
 * closing the connection. Everything else maps to itself.
 */
export const corralToZkErrorTable: Readonly<Record<string, ZkErrorDisposition & { readonly note: string }>> = Object.freeze({
  NotLeader: {
    action: "reply",
    zkCode: ErrorCode.ConnectionLoss,
    note: "not applied; ZooKeeper clients see ConnectionLoss when their server loses the leader, and retry",
  },
  TooManyRequests: {
    action: "reply",
    zkCode: ErrorCode.Throttled,
    note: "backpressure: ThrottledOpException (ZooKeeper 3.6+ clients); the request was not applied",
  },
  RequestForgotten: {
    action: "reply",
    zkCode: ErrorCode.ConnectionLoss,
    note: "outcome unknown: ConnectionLoss is ZooKeeper's 'outcome unknown' (jute clients never re-send, so this is not expected)",
  },
  LimitExceeded: {
    action: "reply",
    zkCode: ErrorCode.BadArguments,
    note: "data, multi or message too large: a permanent failure of that request (oversized frames close the connection instead)",
  },
  SessionMoved: {
    action: "close",
    zkCode: ErrorCode.SessionMoved,
    reason: "session moved to another server",
    note: "ZooKeeper's FinalRequestProcessor closes the connection rather than replying",
  },
});

const corralNames: Readonly<Record<number, string>> = Object.freeze({
  [CorralCode.NotLeader]: "NotLeader",
  [CorralCode.TooManyRequests]: "TooManyRequests",
  [CorralCode.RequestForgotten]: "RequestForgotten",
  [CorralCode.LimitExceeded]: "LimitExceeded",
  [ErrorCode.SessionMoved]: "SessionMoved",
});

/** The wire answer for a Corral result code. Unknown codes become SystemError (-1). */
export function corralErrorToZk(code: number): ZkErrorDisposition {
  const name = corralNames[code];
  if (name !== undefined) {
    const entry = corralToZkErrorTable[name];
    if (entry !== undefined) {
      return entry.action === "reply" ? { action: "reply", zkCode: entry.zkCode } : { action: "close", zkCode: entry.zkCode, reason: entry.reason };
    }
  }
  if (zkCodes.has(code)) return { action: "reply", zkCode: code };
  return { action: "reply", zkCode: ErrorCode.SystemError };
}

/** A code received from a ZooKeeper server as a Corral code (identity; unknown codes become SystemError). */
export function zkErrorToCorral(zkCode: number): ErrorCodeValue {
  return zkCodes.has(zkCode) ? (zkCode as ErrorCodeValue) : ErrorCode.SystemError;
}

// ------------------------------------------------------- 64-bit values --

/** Exact conversion of a jute long to a JS number; fails beyond ±(2^53 - 1). */
export function zkLongToNumber(value: bigint, at: string): number | JuteError {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    return new JuteError("Unrepresentable", `${value} is beyond 2^53`, at);
  }
  return Number(value);
}

const SAFE_SESSION_MASK = (1n << 53n) - 1n;

/**
 * A ZooKeeper session id (64 bits: Apache ZooKeeper puts the server id in
 * the top byte) as the number Corral's client shows: the id's low 53 bits.
 * Exact for Corral's own ids (below 2^53). Used for session ids and for
 * ephemeralOwner alike, so a client can compare the two.
 */
export function zkSessionIdToNumber(id: bigint): number {
  return Number(BigInt.asUintN(64, id) & SAFE_SESSION_MASK);
}

/** EphemeralType.CONTAINER_EPHEMERAL_OWNER. */
export const ZK_CONTAINER_EPHEMERAL_OWNER = -(2n ** 63n);
const TTL_MASK = -72057594037927936n; // 0xFF00000000000000

/** True for the ephemeralOwner values ZooKeeper uses for containers and TTL nodes. */
export function isZkSpecialEphemeralOwner(owner: bigint): boolean {
  return owner === ZK_CONTAINER_EPHEMERAL_OWNER || (owner & TTL_MASK) === TTL_MASK;
}

// ------------------------------------------------------------- data shapes --

export function corralStatToZk(stat: Stat): ZkStat {
  return {
    czxid: BigInt(stat.czxid),
    mzxid: BigInt(stat.mzxid),
    ctime: BigInt(stat.ctime),
    mtime: BigInt(stat.mtime),
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: BigInt(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
    pzxid: BigInt(stat.pzxid),
  };
}

/**
 * ZooKeeper's Stat as Corral's. Container and TTL owners become 0 (Corral's
 * convention); a session owner becomes its low 53 bits (zkSessionIdToNumber);
 * a zxid or time beyond 2^53 is Unrepresentable.
 */
export function zkStatToCorral(stat: ZkStat, at = "stat"): Stat | JuteError {
  const longs = {
    czxid: stat.czxid,
    mzxid: stat.mzxid,
    ctime: stat.ctime,
    mtime: stat.mtime,
    pzxid: stat.pzxid,
  };
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(longs)) {
    const n = zkLongToNumber(value, `${at}.${key}`);
    if (n instanceof JuteError) return n;
    out[key] = n;
  }
  return {
    czxid: out["czxid"] as number,
    mzxid: out["mzxid"] as number,
    pzxid: out["pzxid"] as number,
    ctime: out["ctime"] as number,
    mtime: out["mtime"] as number,
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: isZkSpecialEphemeralOwner(stat.ephemeralOwner) ? 0 : zkSessionIdToNumber(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

export function corralAclToZk(acl: readonly ACL[]): ZkACL[] {
  return acl.map((entry) => ({ perms: entry.perms, id: { scheme: entry.id.scheme, id: entry.id.id } }));
}
export function zkAclToCorral(acl: readonly ZkACL[]): ACL[] {
  return acl.map((entry) => ({ perms: entry.perms, id: { scheme: entry.id.scheme, id: entry.id.id } }));
}

/** ZooKeeper's session password length: the C client only handles exactly 16 bytes. */
export const ZK_PASSWORD_BYTES = 16;

/** A ZooKeeper session password as a Corral secret string (lowercase hex). null/empty -> "". */
export function zkPasswordToSecret(passwd: Uint8Array | null): string {
  if (passwd === null) return "";
  let hex = "";
  for (const byte of passwd) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * A Corral secret as a ZooKeeper password: the secret must be the hex of
 * exactly 16 bytes (what `zkPasswordToSecret` produces for 16-byte
 * passwords), else Unrepresentable.
 */
export function secretToZkPassword(secret: string): Uint8Array | JuteError {
  if (!/^[0-9a-f]*$/.test(secret) || secret.length !== ZK_PASSWORD_BYTES * 2) {
    return new JuteError("Unrepresentable", `a ZooKeeper password is ${ZK_PASSWORD_BYTES} bytes (32 lowercase hex characters)`, "secret");
  }
  const out = new Uint8Array(ZK_PASSWORD_BYTES);
  for (let i = 0; i < ZK_PASSWORD_BYTES; i++) out[i] = parseInt(secret.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ------------------------------------------------ requests: server side --

/** What a decoded ZooKeeper request means for a Corral node. */
export type ZkToCorral =
  /** A Corral op for the sessions actor; answer with `corralResultToZk`. */
  | { readonly kind: "op"; readonly op: ClientOp }
  /** Run each read (getData / getChildren) and answer with `corralMultiReadToZk`. */
  | { readonly kind: "multiRead"; readonly ops: readonly (GetDataOp | GetChildrenOp)[] }
  | { readonly kind: "ping" }
  | { readonly kind: "closeSession" }
  /** SetWatches / SetWatches2: re-register, firing what changed after relativeZxid; reply with a bare header. */
  | { readonly kind: "setWatches"; readonly relativeZxid: number; readonly watches: WatchSet }
  /** Answer with a WhoAmIResponse of the connection's authenticated ids (`corralWhoAmIToZk`). */
  | { readonly kind: "whoAmI" }
  /** Reply OK if the session has a watch of `watcherType` (1..5) on `path`, else NoWatcher (-121). */
  | { readonly kind: "checkWatches"; readonly path: string; readonly watcherType: number }
  /** Answer with `zkCode` without running anything; `close` = close the connection after the reply (auth failures). */
  | { readonly kind: "reject"; readonly zkCode: number; readonly reason: string; readonly close: boolean };

const reject = (zkCode: number, reason: string, close = false): ZkToCorral => ({ kind: "reject", zkCode, reason, close });
const utf8 = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);
const MAX_TTL = 2n ** 40n - 1n; // EphemeralType.TTL.maxValue()

function createToCorral(request: ZkCreateRequest | ZkCreateTTLRequest): CreateOp | string {
  const flags = request.flags;
  if (!isCreateMode(flags)) return `invalid create flags ${flags}`;
  const mode: CreateMode = flags;
  if (request.op === "createContainer" && mode !== 4) return "createContainer needs the CONTAINER mode";
  const data = request.data ?? EMPTY;
  const acl = zkAclToCorral(request.acl);
  if (isTtlMode(mode)) {
    if (request.op !== "createTTL") return "TTL modes need the createTTL opcode";
    if (request.ttl <= 0n || request.ttl > MAX_TTL) return `ttl ${request.ttl} out of range (1..${MAX_TTL})`;
    return { type: "create", path: request.path, data, acl, mode, ttlMs: Number(request.ttl) };
  }
  if (request.op === "createTTL" && request.ttl >= 0n) return `ttl is not valid for create mode ${mode}`;
  return { type: "create", path: request.path, data, acl, mode };
}

function multiSubToCorral(op: ZkMultiWriteOp): MultiSubOp | string {
  switch (op.op) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      return createToCorral(op);
    case "delete":
      return { type: "delete", path: op.path, version: op.version };
    case "check":
      return { type: "check", path: op.path, version: op.version };
    case "setData":
      return { type: "setData", path: op.path, data: op.data ?? EMPTY, version: op.version };
  }
}

function readToCorral(op: ZkMultiReadOp): GetDataOp | GetChildrenOp {
  return op.op === "getData" ? { type: "getData", path: op.path, watch: op.watch } : { type: "getChildren", path: op.path, watch: op.watch };
}

function safeZxid(value: bigint): number | undefined {
  return value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/**
 * Server side: a decoded request as a Corral op, a connection-level action,
 * or a rejection with the KeeperException code ZooKeeper would answer.
 * Values the wire cannot rule out but ZooKeeper refuses (bad create flags,
 * TTL out of range, unknown watch modes) are rejected with BadArguments.
 */
export function zkRequestToCorral(request: ZkRequest): ZkToCorral {
  switch (request.op) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL": {
      const op = createToCorral(request);
      return typeof op === "string" ? reject(ErrorCode.BadArguments, op) : { kind: "op", op };
    }
    case "delete":
      return { kind: "op", op: { type: "delete", path: request.path, version: request.version } };
    case "check":
      // ZooKeeper's API has no standalone check; its reply carries a Stat Corral's CheckResult lacks.
      return reject(ErrorCode.Unimplemented, "a standalone check is only supported inside a multi");
    case "exists":
      return { kind: "op", op: { type: "exists", path: request.path, watch: request.watch } };
    case "getData":
      return { kind: "op", op: { type: "getData", path: request.path, watch: request.watch } };
    case "getChildren":
    case "getChildren2":
      return { kind: "op", op: { type: "getChildren", path: request.path, watch: request.watch } };
    case "setData":
      return { kind: "op", op: { type: "setData", path: request.path, data: request.data ?? EMPTY, version: request.version } };
    case "getACL":
      return { kind: "op", op: { type: "getACL", path: request.path } };
    case "setACL":
      return { kind: "op", op: { type: "setACL", path: request.path, acl: zkAclToCorral(request.acl), version: request.version } };
    case "sync":
      return { kind: "op", op: { type: "sync", path: request.path } };
    case "getAllChildrenNumber":
      return { kind: "op", op: { type: "getAllChildrenNumber", path: request.path } };
    case "multi": {
      const ops: MultiSubOp[] = [];
      for (const sub of request.ops) {
        const op = multiSubToCorral(sub);
        if (typeof op === "string") return reject(ErrorCode.BadArguments, op);
        ops.push(op);
      }
      return { kind: "op", op: { type: "multi", ops } };
    }
    case "multiRead":
      return { kind: "multiRead", ops: request.ops.map(readToCorral) };
    case "reconfig":
      return reject(ErrorCode.ReconfigDisabled, "Corral has no dynamic reconfiguration through the client port");
    case "checkWatches":
      return { kind: "checkWatches", path: request.path, watcherType: request.type };
    case "removeWatches": {
      if (request.type !== 1 && request.type !== 2 && request.type !== 3) {
        return reject(ErrorCode.BadArguments, `watcher type ${request.type} is not supported (Children 1, Data 2, Any 3)`);
      }
      const op: RemoveWatchesOp = { type: "removeWatches", path: request.path, watcherType: request.type };
      return { kind: "op", op };
    }
    case "auth": {
      let credentials: string;
      try {
        credentials = utf8.decode(request.auth ?? EMPTY);
      } catch {
        return reject(ErrorCode.AuthFailed, "credentials are not UTF-8", true);
      }
      const op: AddAuthOp = { type: "addAuth", scheme: request.scheme, credentials };
      return { kind: "op", op };
    }
    case "setWatches":
    case "setWatches2": {
      const relativeZxid = safeZxid(request.relativeZxid);
      if (relativeZxid === undefined) return reject(ErrorCode.BadArguments, `relativeZxid ${request.relativeZxid} out of range`);
      const watches: WatchSet = {
        data: request.dataWatches,
        exists: request.existWatches,
        child: request.childWatches,
        persistent: request.op === "setWatches2" ? request.persistentWatches : [],
        persistentRecursive: request.op === "setWatches2" ? request.persistentRecursiveWatches : [],
      };
      return { kind: "setWatches", relativeZxid, watches };
    }
    case "sasl":
      return reject(ErrorCode.AuthFailed, "SASL is not supported", true);
    case "getEphemerals": {
      const trimmed = request.prefixPath.trim();
      return { kind: "op", op: { type: "getEphemerals", prefix: trimmed === "" ? "/" : request.prefixPath } };
    }
    case "addWatch": {
      if (request.mode !== 0 && request.mode !== 1) return reject(ErrorCode.BadArguments, `addWatch mode ${request.mode}`);
      const op: AddWatchOp = { type: "addWatch", path: request.path, mode: request.mode };
      return { kind: "op", op };
    }
    case "ping":
      return { kind: "ping" };
    case "whoAmI":
      return { kind: "whoAmI" };
    case "closeSession":
      return { kind: "closeSession" };
  }
}

// ------------------------------------------------- results: server side --

/** The header error and body of a reply, or: close the connection. */
export type ZkReplyBody =
  | { readonly action: "reply"; readonly err: number; readonly response: ZkResponse | null }
  | { readonly action: "close"; readonly reason: string };

function errorBody(code: number): ZkReplyBody {
  const disposition = corralErrorToZk(code);
  return disposition.action === "close" ? { action: "close", reason: disposition.reason } : { action: "reply", err: disposition.zkCode, response: null };
}

/** The result does not fit the request: a bug upstream, answered as ZooKeeper answers internal failures. */
const mismatch = (_request: ZkRequest, _resultType: string): ZkReplyBody => ({ action: "reply", err: ErrorCode.SystemError, response: null });

function multiResultToZk(sub: ZkMultiWriteOp | undefined, result: MultiOpResult): ZkMultiResult {
  switch (result.type) {
    case "error":
      return { op: "error", err: result.code === ErrorCode.Ok ? 0 : corralErrorToZk(result.code).zkCode };
    case "create":
      return sub?.op === "create" || result.stat === undefined ? { op: "create", path: result.path } : { op: "create2", path: result.path, stat: corralStatToZk(result.stat) };
    case "delete":
      return { op: "delete" };
    case "setData":
      return { op: "setData", stat: corralStatToZk(result.stat) };
    case "check":
      return { op: "check" };
  }
}

/**
 * Server side: the reply to `request` (the decoded ZooKeeper request) for the
 * Corral result of the op `zkRequestToCorral` made of it. The request picks
 * the response shape (create -> path only, create2 -> path + stat,
 * getChildren vs getChildren2 ...). `exists` on a missing node is NoNode
 * with no body, as ZooKeeper answers it. A result that does not fit the
 * request is SystemError.
 */
export function corralResultToZk(request: ZkRequest, result: WriteResult | ReadResult | SessionOpResult): ZkReplyBody {
  if (result.type === "error") return errorBody(result.code);
  const ok = (response: ZkResponse | null): ZkReplyBody => ({ action: "reply", err: 0, response });
  switch (request.op) {
    case "create":
      return result.type === "create" ? ok({ op: "create", path: result.path }) : mismatch(request, result.type);
    case "create2":
    case "createContainer":
    case "createTTL":
      return result.type === "create" ? ok({ op: request.op, path: result.path, stat: corralStatToZk(result.stat) }) : mismatch(request, result.type);
    case "delete":
      return result.type === "delete" ? ok({ op: "delete" }) : mismatch(request, result.type);
    case "setData":
      return result.type === "setData" ? ok({ op: "setData", stat: corralStatToZk(result.stat) }) : mismatch(request, result.type);
    case "setACL":
      return result.type === "setACL" ? ok({ op: "setACL", stat: corralStatToZk(result.stat) }) : mismatch(request, result.type);
    case "exists":
      if (result.type !== "exists") return mismatch(request, result.type);
      return result.stat === null ? { action: "reply", err: ErrorCode.NoNode, response: null } : ok({ op: "exists", stat: corralStatToZk(result.stat) });
    case "getData":
      return result.type === "getData" ? ok({ op: "getData", data: result.data, stat: corralStatToZk(result.stat) }) : mismatch(request, result.type);
    case "getChildren":
      return result.type === "getChildren" ? ok({ op: "getChildren", children: result.children }) : mismatch(request, result.type);
    case "getChildren2":
      return result.type === "getChildren"
        ? ok({ op: "getChildren2", children: result.children, stat: corralStatToZk(result.stat) })
        : mismatch(request, result.type);
    case "getACL":
      return result.type === "getACL" ? ok({ op: "getACL", acl: corralAclToZk(result.acl), stat: corralStatToZk(result.stat) }) : mismatch(request, result.type);
    case "getAllChildrenNumber":
      if (result.type !== "getAllChildrenNumber") return mismatch(request, result.type);
      return ok({ op: "getAllChildrenNumber", totalNumber: isInt32(result.count) ? result.count : 2 ** 31 - 1 });
    case "getEphemerals":
      return result.type === "getEphemerals" ? ok({ op: "getEphemerals", ephemerals: result.paths }) : mismatch(request, result.type);
    case "sync":
      return result.type === "sync" ? ok({ op: "sync", path: result.path }) : mismatch(request, result.type);
    case "addWatch":
      return result.type === "addWatch" ? ok({ op: "addWatch", err: 0 }) : mismatch(request, result.type);
    case "removeWatches":
      return result.type === "removeWatches" ? ok({ op: "removeWatches" }) : mismatch(request, result.type);
    case "auth":
      return result.type === "addAuth" ? ok({ op: "auth" }) : mismatch(request, result.type);
    case "multi": {
      if (result.type !== "multi") return mismatch(request, result.type);
      if (result.results.length !== request.ops.length) return mismatch(request, result.type);
      return ok({ op: "multi", results: result.results.map((entry, index) => multiResultToZk(request.ops[index], entry)) });
    }
    default:
      return mismatch(request, result.type);
  }
}

/** Server side: the MultiResponse of a multiRead from the results of its reads, in order. */
export function corralMultiReadToZk(results: readonly ReadResult[]): ZkResponse {
  return {
    op: "multiRead",
    results: results.map((result): ZkMultiResult => {
      switch (result.type) {
        case "getData":
          return { op: "getData", data: result.data, stat: corralStatToZk(result.stat) };
        case "getChildren":
          return { op: "getChildren", children: result.children };
        case "error":
          return { op: "error", err: result.code === ErrorCode.Ok ? 0 : corralErrorToZk(result.code).zkCode };
        default:
          return { op: "error", err: ErrorCode.SystemError };
      }
    }),
  };
}

/** Server side: WhoAmIResponse for the connection's identities (ZooKeeper's AuthUtil: scheme + id). */
export function corralWhoAmIToZk(ids: readonly { readonly scheme: string; readonly id: string }[]): ZkResponse {
  return { op: "whoAmI", clientInfo: ids.map((id) => ({ authScheme: id.scheme, user: id.id })) };
}

/** Server side: a watch event as an xid -1 notification (ReplyHeader zxid = the event's zxid). */
export function corralWatchEventToZk(event: Pick<WatchEvent, "type" | "state" | "path" | "zxid">): ZkServerReply {
  return {
    kind: "notification",
    header: { xid: ZkXid.notification, zxid: BigInt(event.zxid), err: 0 },
    event: { type: event.type, state: event.state, path: event.path },
  };
}

// ------------------------------------------------- client side (both ways) --

/**
 * Client side: a Corral op as the ZooKeeper request that returns everything
 * Corral's result needs (create -> create2 / createContainer / createTTL,
 * getChildren -> getChildren2, multi creates as create2 sub-ops).
 */
export function corralOpToZkRequest(op: ClientOp): ZkRequest {
  const create = (c: CreateOp): ZkCreateRequest | ZkCreateTTLRequest => {
    const acl = corralAclToZk(c.acl);
    if (isTtlMode(c.mode)) return { op: "createTTL", path: c.path, data: c.data, acl, flags: c.mode, ttl: BigInt(c.ttlMs ?? 0) };
    return { op: c.mode === 4 ? "createContainer" : "create2", path: c.path, data: c.data, acl, flags: c.mode };
  };
  switch (op.type) {
    case "create":
      return create(op);
    case "delete":
      return { op: "delete", path: op.path, version: op.version };
    case "setData":
      return { op: "setData", path: op.path, data: op.data, version: op.version };
    case "setACL":
      return { op: "setACL", path: op.path, acl: corralAclToZk(op.acl), version: op.version };
    case "multi":
      return {
        op: "multi",
        ops: op.ops.map((sub): ZkMultiWriteOp => {
          switch (sub.type) {
            case "create":
              return create(sub);
            case "delete":
              return { op: "delete", path: sub.path, version: sub.version };
            case "check":
              return { op: "check", path: sub.path, version: sub.version };
            case "setData":
              return { op: "setData", path: sub.path, data: sub.data, version: sub.version };
          }
        }),
      };
    case "getData":
      return { op: "getData", path: op.path, watch: op.watch ?? false };
    case "exists":
      return { op: "exists", path: op.path, watch: op.watch ?? false };
    case "getChildren":
      return { op: "getChildren2", path: op.path, watch: op.watch ?? false };
    case "getAllChildrenNumber":
      return { op: "getAllChildrenNumber", path: op.path };
    case "getEphemerals":
      return { op: "getEphemerals", prefixPath: op.prefix };
    case "getACL":
      return { op: "getACL", path: op.path };
    case "sync":
      return { op: "sync", path: op.path };
    case "addWatch":
      return { op: "addWatch", path: op.path, mode: op.mode };
    case "removeWatches":
      return { op: "removeWatches", path: op.path, type: op.watcherType };
    case "addAuth":
      return { op: "auth", type: 0, scheme: op.scheme, auth: new TextEncoder().encode(op.credentials) };
  }
}

/**
 * Client side: a ZooKeeper reply (header err + body) as Corral's result for
 * the request it answers. Shapes Corral's results cannot hold (a create
 * without a Stat, a getChildren without one) are Unrepresentable: send the
 * requests `corralOpToZkRequest` builds.
 */
export function zkReplyToCorral(
  request: ZkRequest,
  err: number,
  response: ZkResponse | null,
): WriteResult | ReadResult | SessionOpResult | JuteError {
  if (err !== 0) {
    if (request.op === "exists" && err === ErrorCode.NoNode) return { type: "exists", stat: null };
    return { type: "error", code: zkErrorToCorral(err) };
  }
  const bad = (what: string): JuteError => new JuteError("Unrepresentable", what, "response");
  if (response === null) return bad(`no body for ${request.op}`);
  const stat = (s: ZkStat): Stat | JuteError => zkStatToCorral(s, "response.stat");
  switch (response.op) {
    case "create2":
    case "createContainer":
    case "createTTL": {
      const s = stat(response.stat);
      return s instanceof JuteError ? s : { type: "create", path: response.path, stat: s };
    }
    case "delete":
      return { type: "delete" };
    case "setData":
    case "setACL":
    case "exists": {
      const s = stat(response.stat);
      if (s instanceof JuteError) return s;
      return response.op === "exists" ? { type: "exists", stat: s } : { type: response.op, stat: s };
    }
    case "getData": {
      const s = stat(response.stat);
      return s instanceof JuteError ? s : { type: "getData", data: response.data ?? EMPTY, stat: s };
    }
    case "getChildren2": {
      const s = stat(response.stat);
      return s instanceof JuteError ? s : { type: "getChildren", children: response.children, stat: s };
    }
    case "getACL": {
      const s = stat(response.stat);
      return s instanceof JuteError ? s : { type: "getACL", acl: zkAclToCorral(response.acl), stat: s };
    }
    case "getAllChildrenNumber":
      return { type: "getAllChildrenNumber", count: response.totalNumber };
    case "getEphemerals":
      return { type: "getEphemerals", paths: response.ephemerals };
    case "sync":
      return { type: "sync", path: response.path };
    case "addWatch":
      return response.err === 0 ? { type: "addWatch" } : { type: "error", code: zkErrorToCorral(response.err) };
    case "removeWatches":
      return { type: "removeWatches" };
    case "auth":
      return { type: "addAuth" };
    case "multi": {
      const results: MultiOpResult[] = [];
      for (const entry of response.results) {
        switch (entry.op) {
          case "error":
            results.push({ type: "error", code: entry.err === 0 ? ErrorCode.Ok : zkErrorToCorral(entry.err) });
            break;
          case "create2": {
            const s = stat(entry.stat);
            if (s instanceof JuteError) return s;
            results.push({ type: "create", path: entry.path, stat: s });
            break;
          }
          case "create":
            // Apache ZooKeeper reports a create in a multi as CreateResponse (path only), even for create2 sub-ops.
            results.push({ type: "create", path: entry.path });
            break;
          case "delete":
            results.push({ type: "delete" });
            break;
          case "check":
            results.push({ type: "check" });
            break;
          case "setData": {
            const s = stat(entry.stat);
            if (s instanceof JuteError) return s;
            results.push({ type: "setData", stat: s });
            break;
          }
          default:
            return bad(`a ${entry.op} result has no Corral equivalent in a multi`);
        }
      }
      return { type: "multi", results };
    }
    default:
      return bad(`a ${response.op} reply has no Corral result`);
  }
}
