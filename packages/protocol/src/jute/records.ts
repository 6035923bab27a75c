/**
 * ZooKeeper's jute records (zookeeper.jute, MultiOperationRecord,
 * MultiResponse) as TypeScript values, with readers and writers. Field order
 * and types follow ZooKeeper 3.9 exactly; `long`s are bigints (session ids
 * use all 64 bits), `buffer`s are `Uint8Array | null` (ZooKeeper clients send
 * -1 for null data), null vectors read as [].
 *
 * Names carry a `Zk` prefix so they do not collide with Corral's own `Stat`,
 * `ACL`, `ConnectRequest` ... exported from the same package.
 */
import type { JuteReader, JuteWriter } from "./archive.js";

// ---------------------------------------------------------------- opcodes --

/** ZooDefs.OpCode (3.9). */
export const ZkOpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** Special xids (ClientCnxn): notifications, pings, auth packets, SetWatches. */
export const ZkXid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const;

/** The requests a client may send after connecting: every opcode but the server-internal ones (deleteContainer, createSession) and the notification/error markers. */
const { notification: _notification, deleteContainer: _deleteContainer, createSession: _createSession, error: _error, ...clientOpCodes } = ZkOpCode;
export const zkRequestOpCodes = Object.freeze(clientOpCodes);
export type ZkRequestOp = keyof typeof zkRequestOpCodes;

const opByCode = new Map<number, ZkRequestOp>(Object.entries(zkRequestOpCodes).map(([name, code]) => [code, name as ZkRequestOp]));

/** The request op for an opcode, or undefined (unknown or server-internal). */
export function zkRequestOpForCode(opCode: number): ZkRequestOp | undefined {
  return opByCode.get(opCode);
}

// ------------------------------------------------------------ data module --

export interface ZkId {
  readonly scheme: string;
  readonly id: string;
}
export interface ZkACL {
  readonly perms: number;
  readonly id: ZkId;
}
/** org.apache.zookeeper.data.Stat, in wire order. */
export interface ZkStat {
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly ctime: bigint;
  readonly mtime: bigint;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly pzxid: bigint;
}
/** org.apache.zookeeper.data.ClientInfo (WhoAmI, 3.9). */
export interface ZkClientInfo {
  readonly authScheme: string;
  readonly user: string;
}

/** Encoded size of a Stat. */
export const ZK_STAT_BYTES = 68;
const ACL_MIN_BYTES = 12;
const STRING_MIN_BYTES = 4;
const CLIENT_INFO_MIN_BYTES = 8;

/**
 * Id. A null scheme or id reads as "": kazoo writes "" as -1 (so
 * CREATOR_ALL_ACL's auth:"" arrives as a null id) and ZooKeeper accepts it.
 */
export function readId(r: JuteReader, at: string): ZkId {
  const scheme = r.readUstring(`${at}.scheme`) ?? "";
  const id = r.readUstring(`${at}.id`) ?? "";
  return { scheme, id };
}
export function writeId(w: JuteWriter, id: ZkId, at: string): void {
  w.writeUstring(id.scheme, `${at}.scheme`);
  w.writeUstring(id.id, `${at}.id`);
}
export function readACL(r: JuteReader, at: string): ZkACL {
  const perms = r.readInt(`${at}.perms`);
  const id = readId(r, `${at}.id`);
  return { perms, id };
}
export function writeACL(w: JuteWriter, acl: ZkACL, at: string): void {
  w.writeInt(acl.perms, `${at}.perms`);
  writeId(w, acl.id, `${at}.id`);
}
export function readAclVector(r: JuteReader, at: string): ZkACL[] {
  return r.readVector(at, ACL_MIN_BYTES, readACL);
}
export function writeAclVector(w: JuteWriter, acl: readonly ZkACL[], at: string): void {
  w.writeVector(acl, at, writeACL);
}
export function readStat(r: JuteReader, at: string): ZkStat {
  return {
    czxid: r.readLong(`${at}.czxid`),
    mzxid: r.readLong(`${at}.mzxid`),
    ctime: r.readLong(`${at}.ctime`),
    mtime: r.readLong(`${at}.mtime`),
    version: r.readInt(`${at}.version`),
    cversion: r.readInt(`${at}.cversion`),
    aversion: r.readInt(`${at}.aversion`),
    ephemeralOwner: r.readLong(`${at}.ephemeralOwner`),
    dataLength: r.readInt(`${at}.dataLength`),
    numChildren: r.readInt(`${at}.numChildren`),
    pzxid: r.readLong(`${at}.pzxid`),
  };
}
export function writeStat(w: JuteWriter, stat: ZkStat, at: string): void {
  if (typeof stat !== "object" || stat === null) {
    w.fail("InvalidValue", "missing stat", at);
    return;
  }
  w.writeLong(stat.czxid, `${at}.czxid`);
  w.writeLong(stat.mzxid, `${at}.mzxid`);
  w.writeLong(stat.ctime, `${at}.ctime`);
  w.writeLong(stat.mtime, `${at}.mtime`);
  w.writeInt(stat.version, `${at}.version`);
  w.writeInt(stat.cversion, `${at}.cversion`);
  w.writeInt(stat.aversion, `${at}.aversion`);
  w.writeLong(stat.ephemeralOwner, `${at}.ephemeralOwner`);
  w.writeInt(stat.dataLength, `${at}.dataLength`);
  w.writeInt(stat.numChildren, `${at}.numChildren`);
  w.writeLong(stat.pzxid, `${at}.pzxid`);
}
function readPathVector(r: JuteReader, at: string): string[] {
  return r.readVector(at, STRING_MIN_BYTES, (reader, elementAt) => reader.readPath(elementAt));
}
function writeStringVector(w: JuteWriter, items: readonly string[], at: string): void {
  w.writeVector(items, at, (writer, item, elementAt) => writer.writeUstring(item, elementAt));
}
function readClientInfo(r: JuteReader, at: string): ZkClientInfo {
  const authScheme = r.readUstring(`${at}.authScheme`) ?? "";
  const user = r.readUstring(`${at}.user`) ?? "";
  return { authScheme, user };
}

// ------------------------------------------------- connect and headers --

/**
 * proto.ConnectRequest. `readOnly` is the trailing byte 3.4+ clients append
 * (ZooKeeper's ProtocolManager accepts it present or absent): undefined =
 * absent. Sent as the first packet of a connection, with no RequestHeader.
 */
export interface ZkConnectRequest {
  readonly protocolVersion: number;
  readonly lastZxidSeen: bigint;
  readonly timeOut: number;
  /** 0 = new session. */
  readonly sessionId: bigint;
  readonly passwd: Uint8Array | null;
  readonly readOnly?: boolean;
}
/**
 * proto.ConnectResponse. Send `readOnly` iff the client's request had it.
 * ZooKeeper refuses a session with timeOut 0, sessionId 0 and 16 zero bytes.
 */
export interface ZkConnectResponse {
  readonly protocolVersion: number;
  readonly timeOut: number;
  readonly sessionId: bigint;
  readonly passwd: Uint8Array | null;
  readonly readOnly?: boolean;
}
export interface ZkRequestHeader {
  readonly xid: number;
  /** The opcode. */
  readonly type: number;
}
export interface ZkReplyHeader {
  readonly xid: number;
  readonly zxid: bigint;
  /** 0 or a KeeperException.Code. */
  readonly err: number;
}
/** proto.WatcherEvent, the body of an xid -1 notification. */
export interface ZkWatcherEvent {
  readonly type: number;
  readonly state: number;
  readonly path: string;
}

export function readWatcherEvent(r: JuteReader, at: string): ZkWatcherEvent {
  const type = r.readInt(`${at}.type`);
  const state = r.readInt(`${at}.state`);
  const path = r.readPath(`${at}.path`);
  return { type, state, path };
}
export function writeWatcherEvent(w: JuteWriter, event: ZkWatcherEvent, at: string): void {
  w.writeInt(event.type, `${at}.type`);
  w.writeInt(event.state, `${at}.state`);
  w.writeUstring(event.path, `${at}.path`);
}

// --------------------------------------------------------------- requests --

export interface ZkCreateRequest {
  readonly op: "create" | "create2" | "createContainer";
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly acl: readonly ZkACL[];
  /** CreateMode flag (0..6). */
  readonly flags: number;
}
export interface ZkCreateTTLRequest {
  readonly op: "createTTL";
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly acl: readonly ZkACL[];
  readonly flags: number;
  readonly ttl: bigint;
}
/** DeleteRequest / CheckVersionRequest. */
export interface ZkPathVersionRequest {
  readonly op: "delete" | "check";
  readonly path: string;
  readonly version: number;
}
/** ExistsRequest / GetDataRequest / GetChildrenRequest / GetChildren2Request. */
export interface ZkPathWatchRequest {
  readonly op: "exists" | "getData" | "getChildren" | "getChildren2";
  readonly path: string;
  readonly watch: boolean;
}
export interface ZkSetDataRequest {
  readonly op: "setData";
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly version: number;
}
/** GetACLRequest / SyncRequest / GetAllChildrenNumberRequest. */
export interface ZkPathRequest {
  readonly op: "getACL" | "sync" | "getAllChildrenNumber";
  readonly path: string;
}
export interface ZkSetACLRequest {
  readonly op: "setACL";
  readonly path: string;
  readonly acl: readonly ZkACL[];
  readonly version: number;
}
export type ZkMultiWriteOp = ZkCreateRequest | ZkCreateTTLRequest | ZkPathVersionRequest | ZkSetDataRequest;
export interface ZkMultiReadOp {
  readonly op: "getData" | "getChildren";
  readonly path: string;
  readonly watch: boolean;
}
export interface ZkMultiRequest {
  readonly op: "multi";
  readonly ops: readonly ZkMultiWriteOp[];
}
export interface ZkMultiReadRequest {
  readonly op: "multiRead";
  readonly ops: readonly ZkMultiReadOp[];
}
export interface ZkReconfigRequest {
  readonly op: "reconfig";
  readonly joiningServers: string | null;
  readonly leavingServers: string | null;
  readonly newMembers: string | null;
  readonly curConfigId: bigint;
}
/** CheckWatchesRequest / RemoveWatchesRequest; `type` is a Watcher.WatcherType (1..5). */
export interface ZkWatchTypeRequest {
  readonly op: "checkWatches" | "removeWatches";
  readonly path: string;
  readonly type: number;
}
/** AuthPacket (xid -4). */
export interface ZkAuthRequest {
  readonly op: "auth";
  readonly type: number;
  readonly scheme: string;
  readonly auth: Uint8Array | null;
}
export interface ZkSetWatchesRequest {
  readonly op: "setWatches";
  readonly relativeZxid: bigint;
  readonly dataWatches: readonly string[];
  readonly existWatches: readonly string[];
  readonly childWatches: readonly string[];
}
export interface ZkSetWatches2Request {
  readonly op: "setWatches2";
  readonly relativeZxid: bigint;
  readonly dataWatches: readonly string[];
  readonly existWatches: readonly string[];
  readonly childWatches: readonly string[];
  readonly persistentWatches: readonly string[];
  readonly persistentRecursiveWatches: readonly string[];
}
/** GetSASLRequest. */
export interface ZkSaslRequest {
  readonly op: "sasl";
  readonly token: Uint8Array | null;
}
export interface ZkGetEphemeralsRequest {
  readonly op: "getEphemerals";
  /** ZooKeeper treats "", whitespace and "/" as "all of this session's ephemerals". */
  readonly prefixPath: string;
}
export interface ZkAddWatchRequest {
  readonly op: "addWatch";
  readonly path: string;
  /** AddWatchModes: 0 persistent, 1 persistentRecursive. */
  readonly mode: number;
}
/** Requests that are a header only. */
export interface ZkEmptyRequest {
  readonly op: "ping" | "whoAmI" | "closeSession";
}

export type ZkRequest =
  | ZkCreateRequest
  | ZkCreateTTLRequest
  | ZkPathVersionRequest
  | ZkPathWatchRequest
  | ZkSetDataRequest
  | ZkPathRequest
  | ZkSetACLRequest
  | ZkMultiRequest
  | ZkMultiReadRequest
  | ZkReconfigRequest
  | ZkWatchTypeRequest
  | ZkAuthRequest
  | ZkSetWatchesRequest
  | ZkSetWatches2Request
  | ZkSaslRequest
  | ZkGetEphemeralsRequest
  | ZkAddWatchRequest
  | ZkEmptyRequest;

const MULTI_WRITE_OPS = new Set<number>([1, 15, 19, 21, 2, 5, 13]);
const MULTI_READ_OPS = new Set<number>([4, 8]);

/** The body of a request with opcode `op` (after the RequestHeader). */
export function readRequestBody(r: JuteReader, op: ZkRequestOp, at: string): ZkRequest {
  switch (op) {
    case "create":
    case "create2":
    case "createContainer": {
      const path = r.readPath(`${at}.path`);
      const data = r.readBuffer(`${at}.data`);
      const acl = readAclVector(r, `${at}.acl`);
      const flags = r.readInt(`${at}.flags`);
      return { op, path, data, acl, flags };
    }
    case "createTTL": {
      const path = r.readPath(`${at}.path`);
      const data = r.readBuffer(`${at}.data`);
      const acl = readAclVector(r, `${at}.acl`);
      const flags = r.readInt(`${at}.flags`);
      const ttl = r.readLong(`${at}.ttl`);
      return { op, path, data, acl, flags, ttl };
    }
    case "delete":
    case "check": {
      const path = r.readPath(`${at}.path`);
      const version = r.readInt(`${at}.version`);
      return { op, path, version };
    }
    case "exists":
    case "getData":
    case "getChildren":
    case "getChildren2": {
      const path = r.readPath(`${at}.path`);
      const watch = r.readBool(`${at}.watch`);
      return { op, path, watch };
    }
    case "setData": {
      const path = r.readPath(`${at}.path`);
      const data = r.readBuffer(`${at}.data`);
      const version = r.readInt(`${at}.version`);
      return { op, path, data, version };
    }
    case "getACL":
    case "sync":
    case "getAllChildrenNumber":
      return { op, path: r.readPath(`${at}.path`) };
    case "setACL": {
      const path = r.readPath(`${at}.path`);
      const acl = readAclVector(r, `${at}.acl`);
      const version = r.readInt(`${at}.version`);
      return { op, path, acl, version };
    }
    case "multi":
      return { op, ops: readMultiOps(r, `${at}.ops`, MULTI_WRITE_OPS) as ZkMultiWriteOp[] };
    case "multiRead":
      return { op, ops: readMultiOps(r, `${at}.ops`, MULTI_READ_OPS) as ZkMultiReadOp[] };
    case "reconfig": {
      const joiningServers = r.readUstring(`${at}.joiningServers`);
      const leavingServers = r.readUstring(`${at}.leavingServers`);
      const newMembers = r.readUstring(`${at}.newMembers`);
      const curConfigId = r.readLong(`${at}.curConfigId`);
      return { op, joiningServers, leavingServers, newMembers, curConfigId };
    }
    case "checkWatches":
    case "removeWatches": {
      const path = r.readPath(`${at}.path`);
      const type = r.readInt(`${at}.type`);
      return { op, path, type };
    }
    case "auth": {
      const type = r.readInt(`${at}.type`);
      const scheme = r.readString(`${at}.scheme`);
      const auth = r.readBuffer(`${at}.auth`);
      return { op, type, scheme, auth };
    }
    case "setWatches": {
      const relativeZxid = r.readLong(`${at}.relativeZxid`);
      const dataWatches = readPathVector(r, `${at}.dataWatches`);
      const existWatches = readPathVector(r, `${at}.existWatches`);
      const childWatches = readPathVector(r, `${at}.childWatches`);
      return { op, relativeZxid, dataWatches, existWatches, childWatches };
    }
    case "setWatches2": {
      const relativeZxid = r.readLong(`${at}.relativeZxid`);
      const dataWatches = readPathVector(r, `${at}.dataWatches`);
      const existWatches = readPathVector(r, `${at}.existWatches`);
      const childWatches = readPathVector(r, `${at}.childWatches`);
      const persistentWatches = readPathVector(r, `${at}.persistentWatches`);
      const persistentRecursiveWatches = readPathVector(r, `${at}.persistentRecursiveWatches`);
      return { op, relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches };
    }
    case "sasl":
      return { op, token: r.readBuffer(`${at}.token`) };
    case "getEphemerals":
      return { op, prefixPath: r.readPath(`${at}.prefixPath`) };
    case "addWatch": {
      const path = r.readPath(`${at}.path`);
      const mode = r.readInt(`${at}.mode`);
      return { op, path, mode };
    }
    case "ping":
    case "whoAmI":
    case "closeSession":
      return { op };
  }
}

/** MultiOperationRecord: (MultiHeader, op record)* then a done header. `allowed` = sub-op opcodes accepted. */
function readMultiOps(r: JuteReader, at: string, allowed: ReadonlySet<number>): ZkRequest[] {
  const ops: ZkRequest[] = [];
  const max = r.limits.maxMultiOps;
  for (;;) {
    const headerAt = `${at}[${ops.length}].header`;
    const type = r.readInt(`${headerAt}.type`);
    const done = r.readBool(`${headerAt}.done`);
    r.readInt(`${headerAt}.err`); // -1 in requests; ZooKeeper ignores it
    if (!r.ok) return [];
    if (done) return ops;
    if (ops.length >= max) {
      r.fail("LimitExceeded", `more than maxMultiOps (${max}) ops`, at, { limit: "maxMultiOps" });
      return [];
    }
    const op = zkRequestOpForCode(type);
    if (op === undefined || !allowed.has(type)) {
      r.fail("InvalidMultiOp", `op type ${type} is not allowed here`, headerAt);
      return [];
    }
    const sub = readRequestBody(r, op, `${at}[${ops.length}]`);
    ops.push(sub);
  }
}

function writeMultiOps(w: JuteWriter, ops: readonly ZkRequest[], at: string, allowed: ReadonlySet<number>): void {
  if (!Array.isArray(ops)) {
    w.fail("InvalidValue", "ops is not an array", at);
    return;
  }
  for (let index = 0; index < ops.length && w.ok; index++) {
    const op = ops[index] as ZkRequest;
    const type = zkRequestOpCodes[op.op] as number | undefined;
    if (type === undefined || !allowed.has(type)) {
      w.fail("InvalidMultiOp", `op ${String(op.op)} is not allowed here`, `${at}[${index}]`);
      return;
    }
    w.writeInt(type, `${at}[${index}].header.type`);
    w.writeBool(false, `${at}[${index}].header.done`);
    w.writeInt(-1, `${at}[${index}].header.err`);
    writeRequestBody(w, op, `${at}[${index}]`);
  }
  w.writeInt(-1, `${at}.end.type`);
  w.writeBool(true, `${at}.end.done`);
  w.writeInt(-1, `${at}.end.err`);
}

export function writeRequestBody(w: JuteWriter, request: ZkRequest, at: string): void {
  switch (request.op) {
    case "create":
    case "create2":
    case "createContainer":
      w.writeUstring(request.path, `${at}.path`);
      w.writeBuffer(request.data, `${at}.data`);
      writeAclVector(w, request.acl, `${at}.acl`);
      w.writeInt(request.flags, `${at}.flags`);
      return;
    case "createTTL":
      w.writeUstring(request.path, `${at}.path`);
      w.writeBuffer(request.data, `${at}.data`);
      writeAclVector(w, request.acl, `${at}.acl`);
      w.writeInt(request.flags, `${at}.flags`);
      w.writeLong(request.ttl, `${at}.ttl`);
      return;
    case "delete":
    case "check":
      w.writeUstring(request.path, `${at}.path`);
      w.writeInt(request.version, `${at}.version`);
      return;
    case "exists":
    case "getData":
    case "getChildren":
    case "getChildren2":
      w.writeUstring(request.path, `${at}.path`);
      w.writeBool(request.watch, `${at}.watch`);
      return;
    case "setData":
      w.writeUstring(request.path, `${at}.path`);
      w.writeBuffer(request.data, `${at}.data`);
      w.writeInt(request.version, `${at}.version`);
      return;
    case "getACL":
    case "sync":
    case "getAllChildrenNumber":
      w.writeUstring(request.path, `${at}.path`);
      return;
    case "setACL":
      w.writeUstring(request.path, `${at}.path`);
      writeAclVector(w, request.acl, `${at}.acl`);
      w.writeInt(request.version, `${at}.version`);
      return;
    case "multi":
      writeMultiOps(w, request.ops, `${at}.ops`, MULTI_WRITE_OPS);
      return;
    case "multiRead":
      writeMultiOps(w, request.ops, `${at}.ops`, MULTI_READ_OPS);
      return;
    case "reconfig":
      w.writeUstring(request.joiningServers, `${at}.joiningServers`);
      w.writeUstring(request.leavingServers, `${at}.leavingServers`);
      w.writeUstring(request.newMembers, `${at}.newMembers`);
      w.writeLong(request.curConfigId, `${at}.curConfigId`);
      return;
    case "checkWatches":
    case "removeWatches":
      w.writeUstring(request.path, `${at}.path`);
      w.writeInt(request.type, `${at}.type`);
      return;
    case "auth":
      w.writeInt(request.type, `${at}.type`);
      w.writeUstring(request.scheme, `${at}.scheme`);
      w.writeBuffer(request.auth, `${at}.auth`);
      return;
    case "setWatches":
      w.writeLong(request.relativeZxid, `${at}.relativeZxid`);
      writeStringVector(w, request.dataWatches, `${at}.dataWatches`);
      writeStringVector(w, request.existWatches, `${at}.existWatches`);
      writeStringVector(w, request.childWatches, `${at}.childWatches`);
      return;
    case "setWatches2":
      w.writeLong(request.relativeZxid, `${at}.relativeZxid`);
      writeStringVector(w, request.dataWatches, `${at}.dataWatches`);
      writeStringVector(w, request.existWatches, `${at}.existWatches`);
      writeStringVector(w, request.childWatches, `${at}.childWatches`);
      writeStringVector(w, request.persistentWatches, `${at}.persistentWatches`);
      writeStringVector(w, request.persistentRecursiveWatches, `${at}.persistentRecursiveWatches`);
      return;
    case "sasl":
      w.writeBuffer(request.token, `${at}.token`);
      return;
    case "getEphemerals":
      w.writeUstring(request.prefixPath, `${at}.prefixPath`);
      return;
    case "addWatch":
      w.writeUstring(request.path, `${at}.path`);
      w.writeInt(request.mode, `${at}.mode`);
      return;
    case "ping":
    case "whoAmI":
    case "closeSession":
      return;
    default:
      w.fail("InvalidValue", `unknown request op ${String((request as { op?: unknown }).op)}`, at);
  }
}

// -------------------------------------------------------------- responses --

/** One result of a multi (MultiResponse): the MultiHeader type picks the shape. */
export type ZkMultiResult =
  /** type 1: the sub-op was `create`. */
  | { readonly op: "create"; readonly path: string }
  /** type 15: the sub-op was create2 / createContainer / createTTL. */
  | { readonly op: "create2"; readonly path: string; readonly stat: ZkStat }
  | { readonly op: "delete" }
  | { readonly op: "setData"; readonly stat: ZkStat }
  | { readonly op: "check" }
  /** multiRead only. */
  | { readonly op: "getData"; readonly data: Uint8Array | null; readonly stat: ZkStat }
  /** multiRead only. */
  | { readonly op: "getChildren"; readonly children: readonly string[] }
  /** type -1 (ErrorResponse): 0 for ops before the failing one, -2 after it. */
  | { readonly op: "error"; readonly err: number };

const multiResultTypes = {
  create: 1,
  create2: 15,
  delete: 2,
  setData: 5,
  check: 13,
  getData: 4,
  getChildren: 8,
  error: -1,
} as const;

/**
 * A successful reply body, tagged with the op of the request it answers.
 * Replies with a non-zero `err` carry no body. Shapes follow what
 * FinalRequestProcessor sends: create -> CreateResponse, create2 /
 * createContainer / createTTL -> Create2Response, a standalone check ->
 * SetDataResponse, reconfig -> GetDataResponse, addWatch -> ErrorResponse(0).
 */
export type ZkResponse =
  | { readonly op: "create"; readonly path: string }
  | { readonly op: "create2" | "createContainer" | "createTTL"; readonly path: string; readonly stat: ZkStat }
  | { readonly op: "exists" | "setData" | "setACL" | "check"; readonly stat: ZkStat }
  | { readonly op: "getData" | "reconfig"; readonly data: Uint8Array | null; readonly stat: ZkStat }
  | { readonly op: "getACL"; readonly acl: readonly ZkACL[]; readonly stat: ZkStat }
  | { readonly op: "getChildren"; readonly children: readonly string[] }
  | { readonly op: "getChildren2"; readonly children: readonly string[]; readonly stat: ZkStat }
  | { readonly op: "sync"; readonly path: string }
  | { readonly op: "multi" | "multiRead"; readonly results: readonly ZkMultiResult[] }
  | { readonly op: "sasl"; readonly token: Uint8Array | null }
  | { readonly op: "getEphemerals"; readonly ephemerals: readonly string[] }
  | { readonly op: "getAllChildrenNumber"; readonly totalNumber: number }
  | { readonly op: "addWatch"; readonly err: number }
  | { readonly op: "whoAmI"; readonly clientInfo: readonly ZkClientInfo[] }
  | {
      readonly op: "delete" | "ping" | "checkWatches" | "removeWatches" | "auth" | "setWatches" | "setWatches2" | "closeSession";
    };

/** The body of a successful (err 0) reply to a request with op `op`. */
export function readResponseBody(r: JuteReader, op: ZkRequestOp, at: string): ZkResponse {
  switch (op) {
    case "create":
      return { op, path: r.readPath(`${at}.path`) };
    case "create2":
    case "createContainer":
    case "createTTL": {
      const path = r.readPath(`${at}.path`);
      const stat = readStat(r, `${at}.stat`);
      return { op, path, stat };
    }
    case "exists":
    case "setData":
    case "setACL":
    case "check":
      return { op, stat: readStat(r, `${at}.stat`) };
    case "getData":
    case "reconfig": {
      const data = r.readBuffer(`${at}.data`);
      const stat = readStat(r, `${at}.stat`);
      return { op, data, stat };
    }
    case "getACL": {
      const acl = readAclVector(r, `${at}.acl`);
      const stat = readStat(r, `${at}.stat`);
      return { op, acl, stat };
    }
    case "getChildren":
      return { op, children: readPathVector(r, `${at}.children`) };
    case "getChildren2": {
      const children = readPathVector(r, `${at}.children`);
      const stat = readStat(r, `${at}.stat`);
      return { op, children, stat };
    }
    case "sync":
      return { op, path: r.readPath(`${at}.path`) };
    case "multi":
    case "multiRead":
      return { op, results: readMultiResults(r, `${at}.results`, op) };
    case "sasl":
      return { op, token: r.readBuffer(`${at}.token`) };
    case "getEphemerals":
      return { op, ephemerals: readPathVector(r, `${at}.ephemerals`) };
    case "getAllChildrenNumber":
      return { op, totalNumber: r.readInt(`${at}.totalNumber`) };
    case "addWatch":
      return { op, err: r.readInt(`${at}.err`) };
    case "whoAmI":
      return { op, clientInfo: r.readVector(`${at}.clientInfo`, CLIENT_INFO_MIN_BYTES, readClientInfo) };
    case "delete":
    case "ping":
    case "checkWatches":
    case "removeWatches":
    case "auth":
    case "setWatches":
    case "setWatches2":
    case "closeSession":
      return { op };
  }
}

const WRITE_RESULT_TYPES = new Set<number>([1, 15, 2, 5, 13, -1]);
const READ_RESULT_TYPES = new Set<number>([4, 8, -1]);

function readMultiResults(r: JuteReader, at: string, op: "multi" | "multiRead"): ZkMultiResult[] {
  const allowed = op === "multi" ? WRITE_RESULT_TYPES : READ_RESULT_TYPES;
  const results: ZkMultiResult[] = [];
  const max = r.limits.maxMultiOps;
  for (;;) {
    const headerAt = `${at}[${results.length}].header`;
    const type = r.readInt(`${headerAt}.type`);
    const done = r.readBool(`${headerAt}.done`);
    r.readInt(`${headerAt}.err`); // repeated in the ErrorResponse body, which is what ZooKeeper reads
    if (!r.ok) return [];
    if (done) return results;
    if (results.length >= max) {
      r.fail("LimitExceeded", `more than maxMultiOps (${max}) results`, at, { limit: "maxMultiOps" });
      return [];
    }
    if (!allowed.has(type)) {
      r.fail("InvalidMultiOp", `result type ${type} is not allowed in a ${op} response`, headerAt);
      return [];
    }
    const itemAt = `${at}[${results.length}]`;
    switch (type) {
      case 1:
        results.push({ op: "create", path: r.readPath(`${itemAt}.path`) });
        break;
      case 15: {
        const path = r.readPath(`${itemAt}.path`);
        const stat = readStat(r, `${itemAt}.stat`);
        results.push({ op: "create2", path, stat });
        break;
      }
      case 2:
        results.push({ op: "delete" });
        break;
      case 5:
        results.push({ op: "setData", stat: readStat(r, `${itemAt}.stat`) });
        break;
      case 13:
        results.push({ op: "check" });
        break;
      case 4: {
        const data = r.readBuffer(`${itemAt}.data`);
        const stat = readStat(r, `${itemAt}.stat`);
        results.push({ op: "getData", data, stat });
        break;
      }
      case 8:
        results.push({ op: "getChildren", children: readPathVector(r, `${itemAt}.children`) });
        break;
      default:
        results.push({ op: "error", err: r.readInt(`${itemAt}.err`) });
    }
  }
}

function writeMultiResults(w: JuteWriter, results: readonly ZkMultiResult[], at: string, op: "multi" | "multiRead"): void {
  if (!Array.isArray(results)) {
    w.fail("InvalidValue", "results is not an array", at);
    return;
  }
  const allowed = op === "multi" ? WRITE_RESULT_TYPES : READ_RESULT_TYPES;
  for (let index = 0; index < results.length && w.ok; index++) {
    const result = results[index] as ZkMultiResult;
    const itemAt = `${at}[${index}]`;
    const type = multiResultTypes[result.op] as number | undefined;
    if (type === undefined || !allowed.has(type)) {
      w.fail("InvalidMultiOp", `result ${String(result.op)} is not allowed in a ${op} response`, itemAt);
      return;
    }
    w.writeInt(type, `${itemAt}.header.type`);
    w.writeBool(false, `${itemAt}.header.done`);
    w.writeInt(result.op === "error" ? result.err : 0, `${itemAt}.header.err`);
    switch (result.op) {
      case "create":
        w.writeUstring(result.path, `${itemAt}.path`);
        break;
      case "create2":
        w.writeUstring(result.path, `${itemAt}.path`);
        writeStat(w, result.stat, `${itemAt}.stat`);
        break;
      case "setData":
        writeStat(w, result.stat, `${itemAt}.stat`);
        break;
      case "getData":
        w.writeBuffer(result.data, `${itemAt}.data`);
        writeStat(w, result.stat, `${itemAt}.stat`);
        break;
      case "getChildren":
        writeStringVector(w, result.children, `${itemAt}.children`);
        break;
      case "error":
        w.writeInt(result.err, `${itemAt}.err`);
        break;
      case "delete":
      case "check":
        break;
    }
  }
  w.writeInt(-1, `${at}.end.type`);
  w.writeBool(true, `${at}.end.done`);
  w.writeInt(-1, `${at}.end.err`);
}

export function writeResponseBody(w: JuteWriter, response: ZkResponse, at: string): void {
  switch (response.op) {
    case "create":
    case "sync":
      w.writeUstring(response.path, `${at}.path`);
      return;
    case "create2":
    case "createContainer":
    case "createTTL":
      w.writeUstring(response.path, `${at}.path`);
      writeStat(w, response.stat, `${at}.stat`);
      return;
    case "exists":
    case "setData":
    case "setACL":
    case "check":
      writeStat(w, response.stat, `${at}.stat`);
      return;
    case "getData":
    case "reconfig":
      w.writeBuffer(response.data, `${at}.data`);
      writeStat(w, response.stat, `${at}.stat`);
      return;
    case "getACL":
      writeAclVector(w, response.acl, `${at}.acl`);
      writeStat(w, response.stat, `${at}.stat`);
      return;
    case "getChildren":
      writeStringVector(w, response.children, `${at}.children`);
      return;
    case "getChildren2":
      writeStringVector(w, response.children, `${at}.children`);
      writeStat(w, response.stat, `${at}.stat`);
      return;
    case "multi":
    case "multiRead":
      writeMultiResults(w, response.results, `${at}.results`, response.op);
      return;
    case "sasl":
      w.writeBuffer(response.token, `${at}.token`);
      return;
    case "getEphemerals":
      writeStringVector(w, response.ephemerals, `${at}.ephemerals`);
      return;
    case "getAllChildrenNumber":
      w.writeInt(response.totalNumber, `${at}.totalNumber`);
      return;
    case "addWatch":
      w.writeInt(response.err, `${at}.err`);
      return;
    case "whoAmI":
      w.writeVector(response.clientInfo, `${at}.clientInfo`, (writer, info, infoAt) => {
        writer.writeUstring(info.authScheme, `${infoAt}.authScheme`);
        writer.writeUstring(info.user, `${infoAt}.user`);
      });
      return;
    case "delete":
    case "ping":
    case "checkWatches":
    case "removeWatches":
    case "auth":
    case "setWatches":
    case "setWatches2":
    case "closeSession":
      return;
    default:
      w.fail("InvalidValue", `unknown response op ${String((response as { op?: unknown }).op)}`, at);
  }
}
