/**
 * Whole packets of ZooKeeper's client protocol (the payload after the 4-byte
 * length prefix; see `frameZkPacket` / `ZkPacketFramer` for the prefix).
 *
 * - Connect: the first packet of a connection is a bare ConnectRequest (no
 *   RequestHeader); the server answers with a bare ConnectResponse.
 * - Then client -> server: RequestHeader {xid, type} + the request record.
 *   Special xids: -2 ping, -4 auth, -8 SetWatches / SetWatches2.
 * - Server -> client: ReplyHeader {xid, zxid, err} + the response record when
 *   err is 0; xid -1 is a watch notification (WatcherEvent), xid -2 a ping
 *   reply, xid -4 an auth reply.
 *
 * Every decoder is total: it returns the value or a JuteError, never throws,
 * and rejects trailing bytes (except where ZooKeeper itself tolerates them:
 * the body of a reply whose err is not 0 is ignored, as ClientCnxn does).
 */
import { JuteReader, JuteWriter, defaultJuteLimits, type JuteLimits } from "./archive.js";
import { JuteError } from "./errors.js";
import {
  ZkXid,
  readRequestBody,
  readResponseBody,
  readWatcherEvent,
  writeRequestBody,
  writeResponseBody,
  writeWatcherEvent,
  zkRequestOpCodes,
  zkRequestOpForCode,
  type ZkConnectRequest,
  type ZkConnectResponse,
  type ZkReplyHeader,
  type ZkRequest,
  type ZkRequestHeader,
  type ZkRequestOp,
  type ZkResponse,
  type ZkWatcherEvent,
} from "./records.js";

function guard<T>(decode: () => T | JuteError): T | JuteError {
  try {
    return decode();
  } catch (error) {
    // Unreachable by construction (the archive never throws); a last line of defence.
    return new JuteError("InvalidValue", `codec failure: ${String(error)}`);
  }
}

// ---------------------------------------------------------------- connect --

function readConnectTail(r: JuteReader, at: string): boolean | undefined {
  if (!r.ok || r.remaining === 0) return undefined;
  const readOnly = r.readBool(`${at}.readOnly`);
  r.expectEnd(at);
  return readOnly;
}

export function decodeConnectRequest(bytes: Uint8Array, limits: JuteLimits = defaultJuteLimits): ZkConnectRequest | JuteError {
  return guard(() => {
    const r = new JuteReader(bytes, limits);
    if (bytes.byteLength > limits.maxPacketBytes) {
      return new JuteError("LimitExceeded", `packet of ${bytes.byteLength} bytes exceeds maxPacketBytes`, "connect", { limit: "maxPacketBytes" });
    }
    const protocolVersion = r.readInt("connect.protocolVersion");
    const lastZxidSeen = r.readLong("connect.lastZxidSeen");
    const timeOut = r.readInt("connect.timeOut");
    const sessionId = r.readLong("connect.sessionId");
    const passwd = r.readBuffer("connect.passwd", limits.maxPasswordBytes, "maxPasswordBytes");
    const readOnly = readConnectTail(r, "connect");
    const request: ZkConnectRequest =
      readOnly === undefined
        ? { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd }
        : { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly };
    return r.result(request);
  });
}

export function encodeConnectRequest(request: ZkConnectRequest, limits: JuteLimits = defaultJuteLimits): Uint8Array | JuteError {
  return guard(() => {
    const w = new JuteWriter(limits.maxPacketBytes, 64);
    w.writeInt(request.protocolVersion, "connect.protocolVersion");
    w.writeLong(request.lastZxidSeen, "connect.lastZxidSeen");
    w.writeInt(request.timeOut, "connect.timeOut");
    w.writeLong(request.sessionId, "connect.sessionId");
    w.writeBuffer(request.passwd, "connect.passwd");
    if (request.readOnly !== undefined) w.writeBool(request.readOnly, "connect.readOnly");
    return w.finish();
  });
}

export function decodeConnectResponse(bytes: Uint8Array, limits: JuteLimits = defaultJuteLimits): ZkConnectResponse | JuteError {
  return guard(() => {
    const r = new JuteReader(bytes, limits);
    if (bytes.byteLength > limits.maxPacketBytes) {
      return new JuteError("LimitExceeded", `packet of ${bytes.byteLength} bytes exceeds maxPacketBytes`, "connect", { limit: "maxPacketBytes" });
    }
    const protocolVersion = r.readInt("connect.protocolVersion");
    const timeOut = r.readInt("connect.timeOut");
    const sessionId = r.readLong("connect.sessionId");
    const passwd = r.readBuffer("connect.passwd", limits.maxPasswordBytes, "maxPasswordBytes");
    const readOnly = readConnectTail(r, "connect");
    const response: ZkConnectResponse =
      readOnly === undefined ? { protocolVersion, timeOut, sessionId, passwd } : { protocolVersion, timeOut, sessionId, passwd, readOnly };
    return r.result(response);
  });
}

export function encodeConnectResponse(response: ZkConnectResponse, limits: JuteLimits = defaultJuteLimits): Uint8Array | JuteError {
  return guard(() => {
    const w = new JuteWriter(limits.maxPacketBytes, 64);
    w.writeInt(response.protocolVersion, "connect.protocolVersion");
    w.writeInt(response.timeOut, "connect.timeOut");
    w.writeLong(response.sessionId, "connect.sessionId");
    w.writeBuffer(response.passwd, "connect.passwd");
    if (response.readOnly !== undefined) w.writeBool(response.readOnly, "connect.readOnly");
    return w.finish();
  });
}

// ------------------------------------------------- client -> server packets --

export interface ZkClientPacket {
  readonly header: ZkRequestHeader;
  readonly request: ZkRequest;
}

/**
 * Server side: one packet after the connect. Dispatches on the header's
 * opcode; an unknown (or server-internal) opcode is a JuteError with code
 * "UnknownOpcode" carrying `xid` and `opCode`, which a server may answer with
 * Unimplemented (-6) like ZooKeeper's UnimplementedRequestProcessor, keeping
 * the connection. Every other error means: close the connection.
 */
export function decodeClientPacket(bytes: Uint8Array, limits: JuteLimits = defaultJuteLimits): ZkClientPacket | JuteError {
  return guard(() => {
    if (bytes.byteLength > limits.maxPacketBytes) {
      return new JuteError("LimitExceeded", `packet of ${bytes.byteLength} bytes exceeds maxPacketBytes`, "", { limit: "maxPacketBytes" });
    }
    const r = new JuteReader(bytes, limits);
    const xid = r.readInt("header.xid");
    const type = r.readInt("header.type");
    if (r.error !== undefined) return r.error;
    const op = zkRequestOpForCode(type);
    if (op === undefined) return new JuteError("UnknownOpcode", `opcode ${type}`, "header.type", { xid, opCode: type });
    const request = readRequestBody(r, op, "request");
    r.expectEnd("request");
    return r.result({ header: { xid, type }, request });
  });
}

/** Client side: RequestHeader {xid, opcode of request.op} + the request record. */
export function encodeClientRequest(xid: number, request: ZkRequest, limits: JuteLimits = defaultJuteLimits): Uint8Array | JuteError {
  return guard(() => {
    const w = new JuteWriter(limits.maxPacketBytes);
    const type = (zkRequestOpCodes as Record<string, number | undefined>)[String(request?.op)];
    if (type === undefined) return new JuteError("InvalidValue", `unknown request op ${String(request?.op)}`, "request.op");
    w.writeInt(xid, "header.xid");
    w.writeInt(type, "header.type");
    writeRequestBody(w, request, "request");
    return w.finish();
  });
}

// ------------------------------------------------- server -> client packets --

/**
 * A server -> client packet after the connect: a reply (body present only
 * when `header.err` is 0, and absent for ops whose reply is a bare header
 * when `response` is null) or a watch notification (xid -1).
 */
export type ZkServerReply =
  | { readonly kind: "reply"; readonly header: ZkReplyHeader; readonly response: ZkResponse | null }
  | { readonly kind: "notification"; readonly header: ZkReplyHeader; readonly event: ZkWatcherEvent };

/** Server side. For a notification the header's xid must be -1; for a reply it must not be. */
export function encodeServerReply(reply: ZkServerReply, limits: JuteLimits = defaultJuteLimits): Uint8Array | JuteError {
  return guard(() => {
    const w = new JuteWriter(limits.maxPacketBytes);
    const header = reply.header;
    if (reply.kind === "notification" && header.xid !== ZkXid.notification) {
      return new JuteError("InvalidValue", "a notification must use xid -1", "header.xid");
    }
    if (reply.kind === "reply" && header.xid === ZkXid.notification) {
      return new JuteError("InvalidValue", "xid -1 is reserved for notifications", "header.xid");
    }
    w.writeInt(header.xid, "header.xid");
    w.writeLong(header.zxid, "header.zxid");
    w.writeInt(header.err, "header.err");
    if (reply.kind === "notification") writeWatcherEvent(w, reply.event, "event");
    else if (reply.response !== null) writeResponseBody(w, reply.response, "response");
    return w.finish();
  });
}

/**
 * Client side. `expectedOpForXid` tells which request an xid answers (the
 * client's pending table); it is not asked for xid -1 (notification), -2
 * (ping) and -4 (auth). An xid it returns undefined for is an
 * "UnexpectedXid" error. A reply with err != 0 has `response: null` and any
 * body bytes are ignored (as ClientCnxn does).
 */
export function decodeServerReply(
  bytes: Uint8Array,
  expectedOpForXid: (xid: number) => ZkRequestOp | undefined,
  limits: JuteLimits = defaultJuteLimits,
): ZkServerReply | JuteError {
  return guard(() => {
    if (bytes.byteLength > limits.maxPacketBytes) {
      return new JuteError("LimitExceeded", `packet of ${bytes.byteLength} bytes exceeds maxPacketBytes`, "", { limit: "maxPacketBytes" });
    }
    const r = new JuteReader(bytes, limits);
    const xid = r.readInt("header.xid");
    const zxid = r.readLong("header.zxid");
    const err = r.readInt("header.err");
    if (r.error !== undefined) return r.error;
    const header: ZkReplyHeader = { xid, zxid, err };
    if (xid === ZkXid.notification) {
      const event = readWatcherEvent(r, "event");
      r.expectEnd("event");
      return r.result({ kind: "notification", header, event });
    }
    const op: ZkRequestOp | undefined = xid === ZkXid.ping ? "ping" : xid === ZkXid.auth ? "auth" : expectedOpForXid(xid);
    if (op === undefined) return new JuteError("UnexpectedXid", `no pending request for xid ${xid}`, "header.xid", { xid });
    if (err !== 0) return { kind: "reply", header, response: null };
    const response = readResponseBody(r, op, "response");
    r.expectEnd("response");
    return r.result({ kind: "reply", header, response });
  });
}

/** Prefixes a payload with its 4-byte big-endian length. */
export function frameZkPacket(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setInt32(0, payload.byteLength, false);
  out.set(payload, 4);
  return out;
}
