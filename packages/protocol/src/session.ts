/**
 * The client <-> node session protocol. These messages travel inside a
 * `ReliableChannel` (ordered, exactly-once within one channel) between a
 * client endpoint and the node it is connected to.
 *
 * One channel = one connection. A client that fails over opens a new channel
 * to another node and sends `connect` with its session id, secret and the last
 * zxid it has seen; writes it had in flight are re-sent with their original
 * `seq`, and the replicated exactly-once table answers them without applying
 * them twice (DESIGN.md §1).
 *
 * Ordering contract (node side): responses are sent in request (xid) order,
 * and every watch event is sent before any response that reflects a state at
 * or after the event's zxid.
 */
import { MAX_AUTH_IDS_PER_SESSION, MAX_CREDENTIALS_LENGTH } from "./acl.js";
import type { Json } from "./codec.js";
import {
  decodeErrorCode,
  decodeReadOp,
  decodeReadResult,
  decodeTxnResult,
  decodeWriteOp,
  defaultCodecLimits,
  encodeReadOp,
  encodeReadResult,
  encodeTxnResult,
  encodeWriteOp,
  type CodecLimits,
} from "./codec.js";
import { DecodeError, type ErrorCodeValue } from "./errors.js";
import type {
  AddWatchOp,
  ReadOp,
  ReadResult,
  RemoveWatchesOp,
  SyncOp,
  WriteOp,
  WriteResult,
} from "./ops.js";
import type { EventType, KeeperState } from "./types.js";
import { AddWatchMode, WatcherType } from "./types.js";

export const SESSION_PROTOCOL_VERSION = 1;

/** Watches a client re-registers after a reconnect, with the last zxid it saw. */
export interface WatchSet {
  readonly data: readonly string[];
  readonly exists: readonly string[];
  readonly child: readonly string[];
  readonly persistent: readonly string[];
  readonly persistentRecursive: readonly string[];
}

export const emptyWatchSet: WatchSet = Object.freeze({
  data: [],
  exists: [],
  child: [],
  persistent: [],
  persistentRecursive: [],
});

// ----------------------------------------------------- client -> node --

export interface ConnectRequest {
  readonly type: "connect";
  readonly protocolVersion: number;
  /** null = create a new session. */
  readonly sessionId: number | null;
  readonly secret: string | null;
  readonly timeoutMs: number;
  /** The highest zxid this client has seen; the node must not serve an older state. */
  readonly lastZxidSeen: number;
  /** Watches to re-register on a reconnect; missed events since lastZxidSeen are delivered. */
  readonly watches: WatchSet;
  /** Digest credentials ("user:password") to authenticate the connection with. */
  readonly auth: readonly { readonly scheme: string; readonly credentials: string }[];
}

/** Any operation a client can send. */
export type ClientOp = WriteOp | ReadOp | SyncOp | AddWatchOp | RemoveWatchesOp | AddAuthOp;

export interface AddAuthOp {
  readonly type: "addAuth";
  readonly scheme: string;
  readonly credentials: string;
}

export interface OpRequest {
  readonly type: "request";
  /** Client-chosen id, strictly increasing per connection; echoed in the response. */
  readonly xid: number;
  /** For writes: the session's write sequence number (exactly-once across failover). */
  readonly seq?: number;
  readonly op: ClientOp;
  /** For reads: confirm through the leader (ReadIndex) before answering. */
  readonly linearizable?: boolean;
}

export interface PingRequest {
  readonly type: "ping";
}

export interface CloseRequest {
  readonly type: "close";
}

export type ClientMessage = ConnectRequest | OpRequest | PingRequest | CloseRequest;

// ----------------------------------------------------- node -> client --

export interface ConnectedResponse {
  readonly type: "connected";
  readonly sessionId: number;
  readonly secret: string;
  /** The negotiated session timeout. */
  readonly timeoutMs: number;
  readonly nodeId: string;
  /**
   * The node's applied zxid when the session was (re)established. On a resume
   * the missed watch events follow this message, so a client must not count
   * this zxid as seen (a new session has nothing to miss and should).
   */
  readonly zxid: number;
  /**
   * Set on a reconnect when some persistent or persistent-recursive watch
   * events since the client's lastZxidSeen may be missing (the node's change
   * history no longer reaches back that far, e.g. the client was away long or
   * the node installed a snapshot since): what the node could still see in the
   * tree was sent, deletions could not be. Whoever derives state from those
   * watches must re-read it. Absent (older nodes) means false.
   */
  readonly watchGap?: boolean;
}

export interface ConnectFailedResponse {
  readonly type: "connectFailed";
  /** SessionExpired, AuthFailed, BadArguments, TooManyRequests (rate limit), NotReadOnly ... */
  readonly code: ErrorCodeValue;
  readonly message: string;
}

/** Results of node-local ops that are not tree ops. */
export type SessionOpResult =
  | { readonly type: "sync"; readonly path: string }
  | { readonly type: "addWatch" }
  | { readonly type: "removeWatches" }
  | { readonly type: "addAuth" };

export interface OpResponse {
  readonly type: "response";
  readonly xid: number;
  /** The zxid of the state the answer reflects (for writes: the entry's zxid). */
  readonly zxid: number;
  readonly result: WriteResult | ReadResult | SessionOpResult;
}

export interface WatchEventMessage {
  readonly type: "event";
  readonly event: EventType;
  readonly state: KeeperState;
  readonly path: string;
  readonly zxid: number;
}

export interface PongResponse {
  readonly type: "pong";
  readonly zxid: number;
}

/** The session ended (expired or closed); the node closes the channel after sending it. */
export interface SessionEndedMessage {
  readonly type: "sessionEnded";
  readonly code: ErrorCodeValue;
}

export type NodeMessage =
  | ConnectedResponse
  | ConnectFailedResponse
  | OpResponse
  | WatchEventMessage
  | PongResponse
  | SessionEndedMessage;

// ------------------------------------------------------------- codecs --

type Obj = { readonly [key: string]: unknown };

const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u);
const isSafeInt = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u);
const fail = (what: string): DecodeError => new DecodeError(`session: ${what}`);

function readStringArray(u: unknown, max: number, what: string): string[] | DecodeError {
  if (!Array.isArray(u) || u.length > max) return fail(`${what}: expected an array of at most ${max} strings`);
  for (const s of u) if (typeof s !== "string" || s.length > 4096) return fail(`${what}: expected strings`);
  return u as string[];
}

function decodeWatchSet(u: unknown, limits: CodecLimits): WatchSet | DecodeError {
  if (!isObj(u)) return fail("watches: expected an object");
  const max = limits.maxListLength;
  const data = readStringArray(u["data"], max, "watches.data");
  if (data instanceof DecodeError) return data;
  const exists = readStringArray(u["exists"], max, "watches.exists");
  if (exists instanceof DecodeError) return exists;
  const child = readStringArray(u["child"], max, "watches.child");
  if (child instanceof DecodeError) return child;
  const persistent = readStringArray(u["persistent"], max, "watches.persistent");
  if (persistent instanceof DecodeError) return persistent;
  const persistentRecursive = readStringArray(u["persistentRecursive"], max, "watches.persistentRecursive");
  if (persistentRecursive instanceof DecodeError) return persistentRecursive;
  return { data, exists, child, persistent, persistentRecursive };
}

function encodeClientOp(op: ClientOp): Json {
  switch (op.type) {
    case "create":
    case "delete":
    case "setData":
    case "setACL":
    case "multi":
      return encodeWriteOp(op);
    case "getData":
    case "exists":
    case "getChildren":
    case "getAllChildrenNumber":
    case "getEphemerals":
    case "getACL":
      return encodeReadOp(op);
    case "sync":
      return { type: "sync", path: op.path };
    case "addWatch":
      return { type: "addWatch", path: op.path, mode: op.mode };
    case "removeWatches":
      return { type: "removeWatches", path: op.path, watcherType: op.watcherType };
    case "addAuth":
      return { type: "addAuth", scheme: op.scheme, credentials: op.credentials };
  }
}

const WRITE_TYPES = new Set(["create", "delete", "setData", "setACL", "multi"]);
const READ_TYPES = new Set(["getData", "exists", "getChildren", "getAllChildrenNumber", "getEphemerals", "getACL"]);

export function isWriteOp(op: ClientOp): op is WriteOp {
  return WRITE_TYPES.has(op.type);
}

export function isReadOp(op: ClientOp): op is ReadOp {
  return READ_TYPES.has(op.type);
}

function decodeClientOp(u: unknown, limits: CodecLimits): ClientOp | DecodeError {
  if (!isObj(u) || typeof u["type"] !== "string") return fail("op: expected an object with a type");
  const type = u["type"];
  if (WRITE_TYPES.has(type)) return decodeWriteOp(u, limits);
  if (READ_TYPES.has(type)) return decodeReadOp(u, limits);
  const path = u["path"];
  switch (type) {
    case "sync":
      if (typeof path !== "string") return fail("sync: path");
      return { type: "sync", path };
    case "addWatch": {
      const mode = u["mode"];
      if (typeof path !== "string") return fail("addWatch: path");
      if (mode !== AddWatchMode.Persistent && mode !== AddWatchMode.PersistentRecursive) return fail("addWatch: mode");
      return { type: "addWatch", path, mode };
    }
    case "removeWatches": {
      const watcherType = u["watcherType"];
      if (typeof path !== "string") return fail("removeWatches: path");
      if (watcherType !== WatcherType.Children && watcherType !== WatcherType.Data && watcherType !== WatcherType.Any) {
        return fail("removeWatches: watcherType");
      }
      return { type: "removeWatches", path, watcherType };
    }
    case "addAuth": {
      const scheme = u["scheme"];
      const credentials = u["credentials"];
      if (typeof scheme !== "string" || scheme.length > 64) return fail("addAuth: scheme");
      if (typeof credentials !== "string" || credentials.length > MAX_CREDENTIALS_LENGTH) return fail("addAuth: credentials");
      return { type: "addAuth", scheme, credentials };
    }
    default:
      return fail(`op: unknown type ${JSON.stringify(type).slice(0, 40)}`);
  }
}

export function encodeClientMessage(m: ClientMessage): Json {
  switch (m.type) {
    case "connect":
      return {
        type: "connect",
        protocolVersion: m.protocolVersion,
        sessionId: m.sessionId,
        secret: m.secret,
        timeoutMs: m.timeoutMs,
        lastZxidSeen: m.lastZxidSeen,
        watches: {
          data: [...m.watches.data],
          exists: [...m.watches.exists],
          child: [...m.watches.child],
          persistent: [...m.watches.persistent],
          persistentRecursive: [...m.watches.persistentRecursive],
        },
        auth: m.auth.map((a) => ({ scheme: a.scheme, credentials: a.credentials })),
      };
    case "request": {
      const out: { [key: string]: Json } = { type: "request", xid: m.xid, op: encodeClientOp(m.op) };
      if (m.seq !== undefined) out["seq"] = m.seq;
      if (m.linearizable === true) out["linearizable"] = true;
      return out;
    }
    case "ping":
      return { type: "ping" };
    case "close":
      return { type: "close" };
  }
}

export function decodeClientMessage(u: unknown, limits: CodecLimits = defaultCodecLimits): ClientMessage | DecodeError {
  if (!isObj(u)) return fail("expected an object");
  switch (u["type"]) {
    case "connect": {
      const sessionId = u["sessionId"];
      const secret = u["secret"];
      const { protocolVersion, timeoutMs, lastZxidSeen } = u as Record<string, unknown>;
      if (!isSafeInt(protocolVersion)) return fail("connect: protocolVersion");
      if (sessionId !== null && !(isSafeInt(sessionId) && sessionId > 0)) return fail("connect: sessionId");
      if (secret !== null && (typeof secret !== "string" || secret.length > 256)) return fail("connect: secret");
      if (!isSafeInt(timeoutMs) || timeoutMs <= 0) return fail("connect: timeoutMs");
      if (!isSafeInt(lastZxidSeen) || lastZxidSeen < 0) return fail("connect: lastZxidSeen");
      const watches = decodeWatchSet(u["watches"], limits);
      if (watches instanceof DecodeError) return watches;
      const authRaw = u["auth"];
      if (!Array.isArray(authRaw) || authRaw.length > MAX_AUTH_IDS_PER_SESSION) return fail("connect: auth");
      const auth: { scheme: string; credentials: string }[] = [];
      for (const a of authRaw) {
        if (!isObj(a) || typeof a["scheme"] !== "string" || typeof a["credentials"] !== "string") return fail("connect: auth entry");
        if (a["scheme"].length > 64 || a["credentials"].length > MAX_CREDENTIALS_LENGTH) return fail("connect: auth entry too long");
        auth.push({ scheme: a["scheme"], credentials: a["credentials"] });
      }
      return {
        type: "connect",
        protocolVersion,
        sessionId: sessionId as number | null,
        secret: secret as string | null,
        timeoutMs,
        lastZxidSeen,
        watches,
        auth,
      };
    }
    case "request": {
      const xid = u["xid"];
      if (!isSafeInt(xid) || xid < 0) return fail("request: xid");
      const op = decodeClientOp(u["op"], limits);
      if (op instanceof DecodeError) return op;
      const seq = u["seq"];
      if (seq !== undefined && (!isSafeInt(seq) || seq <= 0)) return fail("request: seq");
      if (isWriteOp(op) && seq === undefined) return fail("request: a write needs a seq");
      const linearizable = u["linearizable"];
      if (linearizable !== undefined && typeof linearizable !== "boolean") return fail("request: linearizable");
      const out: { -readonly [K in keyof OpRequest]: OpRequest[K] } = { type: "request", xid, op };
      if (seq !== undefined) out.seq = seq as number;
      if (linearizable === true) out.linearizable = true;
      return out;
    }
    case "ping":
      return { type: "ping" };
    case "close":
      return { type: "close" };
    default:
      return fail("unknown client message type");
  }
}

function encodeOpResult(result: OpResponse["result"]): Json {
  switch (result.type) {
    case "sync":
      return { type: "sync", path: result.path };
    case "addWatch":
    case "removeWatches":
    case "addAuth":
      return { type: result.type };
    case "getData":
    case "exists":
    case "getChildren":
    case "getAllChildrenNumber":
    case "getEphemerals":
    case "getACL":
      return encodeReadResult(result);
    default:
      return encodeTxnResult(result);
  }
}

function decodeOpResult(u: unknown, limits: CodecLimits): OpResponse["result"] | DecodeError {
  if (!isObj(u) || typeof u["type"] !== "string") return fail("result: expected an object with a type");
  const type = u["type"];
  switch (type) {
    case "sync":
      if (typeof u["path"] !== "string") return fail("result: sync path");
      return { type: "sync", path: u["path"] };
    case "addWatch":
    case "removeWatches":
    case "addAuth":
      return { type };
    default:
      if (READ_TYPES.has(type)) return decodeReadResult(u, limits);
      {
        const r = decodeTxnResult(u, limits);
        if (r instanceof DecodeError) return r;
        if (r.type === "createSession" || r.type === "closeSession" || r.type === "claimSession" || r.type === "reap" || r.type === "noop") {
          return fail("result: not a client result");
        }
        return r;
      }
  }
}

export function encodeNodeMessage(m: NodeMessage): Json {
  switch (m.type) {
    case "connected":
      // watchGap only when set: frames stay as they were for everything else (and for older clients).
      return { type: "connected", sessionId: m.sessionId, secret: m.secret, timeoutMs: m.timeoutMs, nodeId: m.nodeId, zxid: m.zxid, ...(m.watchGap === true ? { watchGap: true } : {}) };
    case "connectFailed":
      return { type: "connectFailed", code: m.code, message: m.message };
    case "response":
      return { type: "response", xid: m.xid, zxid: m.zxid, result: encodeOpResult(m.result) };
    case "event":
      return { type: "event", event: m.event, state: m.state, path: m.path, zxid: m.zxid };
    case "pong":
      return { type: "pong", zxid: m.zxid };
    case "sessionEnded":
      return { type: "sessionEnded", code: m.code };
  }
}

export function decodeNodeMessage(u: unknown, limits: CodecLimits = defaultCodecLimits): NodeMessage | DecodeError {
  if (!isObj(u)) return fail("expected an object");
  switch (u["type"]) {
    case "connected": {
      const { sessionId, secret, timeoutMs, nodeId, zxid, watchGap } = u as Record<string, unknown>;
      if (!isSafeInt(sessionId) || typeof secret !== "string" || !isSafeInt(timeoutMs)) return fail("connected: fields");
      if (typeof nodeId !== "string" || !isSafeInt(zxid)) return fail("connected: fields");
      if (watchGap !== undefined && typeof watchGap !== "boolean") return fail("connected: watchGap");
      return { type: "connected", sessionId, secret, timeoutMs, nodeId, zxid, ...(watchGap === true ? { watchGap: true } : {}) };
    }
    case "connectFailed": {
      const code = decodeErrorCode(u["code"]);
      if (code instanceof DecodeError) return code;
      const message = u["message"];
      if (typeof message !== "string") return fail("connectFailed: message");
      return { type: "connectFailed", code, message: message.slice(0, 1024) };
    }
    case "response": {
      const xid = u["xid"];
      const zxid = u["zxid"];
      if (!isSafeInt(xid) || !isSafeInt(zxid)) return fail("response: xid/zxid");
      const result = decodeOpResult(u["result"], limits);
      if (result instanceof DecodeError) return result;
      return { type: "response", xid, zxid, result };
    }
    case "event": {
      const { event, state, path, zxid } = u as Record<string, unknown>;
      if (!isSafeInt(event) || event < -1 || event > 10) return fail("event: type");
      if (!isSafeInt(state) || typeof path !== "string" || !isSafeInt(zxid)) return fail("event: fields");
      return { type: "event", event: event as EventType, state: state as KeeperState, path, zxid };
    }
    case "pong": {
      const zxid = u["zxid"];
      if (!isSafeInt(zxid)) return fail("pong: zxid");
      return { type: "pong", zxid };
    }
    case "sessionEnded": {
      const code = decodeErrorCode(u["code"]);
      if (code instanceof DecodeError) return code;
      return { type: "sessionEnded", code };
    }
    default:
      return fail("unknown node message type");
  }
}

// ------------------------------------------------ one channel, both ways --

/** What a session channel carries: client and node messages have disjoint `type`s. */
export type SessionBody = ClientMessage | NodeMessage;

const CLIENT_MESSAGE_TYPES = new Set(["connect", "request", "ping", "close"]);

export function isClientMessage(body: SessionBody): body is ClientMessage {
  return CLIENT_MESSAGE_TYPES.has(body.type);
}

export function isNodeMessage(body: SessionBody): body is NodeMessage {
  return !CLIENT_MESSAGE_TYPES.has(body.type);
}

export function encodeSessionBody(body: SessionBody): Json {
  return isClientMessage(body) ? encodeClientMessage(body) : encodeNodeMessage(body);
}

/** Decodes either direction; each side then refuses what it should never receive. */
export function decodeSessionBody(u: unknown, limits: CodecLimits = defaultCodecLimits): SessionBody | DecodeError {
  const type = isObj(u) ? u["type"] : undefined;
  return typeof type === "string" && CLIENT_MESSAGE_TYPES.has(type) ? decodeClientMessage(u, limits) : decodeNodeMessage(u, limits);
}
