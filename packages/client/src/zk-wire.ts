/**
 * The client side of ZooKeeper's wire protocol (jute over a byte stream), as
 * a pure adapter between the client core's session messages and bytes: no
 * sockets, no clock. One instance per connection.
 *
 * Outbound, `encode` turns a ClientMessage into framed packets: a connect
 * becomes ConnectRequest, then SetWatches2 (the watches to re-register, with
 * the last zxid seen) and one AuthPacket per credential, as ClientCnxn's
 * primeConnection sends them; a request becomes RequestHeader + record (wire
 * xids are this adapter's own, so a linearizable read can go out as a
 * pipelined `sync` + read); a ping is xid -2; close is closeSession.
 *
 * Inbound, `receive` turns bytes into NodeMessages: the ConnectResponse
 * becomes `connected` (or `connectFailed` SessionExpired for timeOut 0, as
 * ZooKeeper answers an expired or unknown session), replies become
 * `response`s for the client's xids, xid -1 notifications `event`s, xid -2
 * `pong`s. A failed connect-time AuthPacket is `connectFailed` AuthFailed.
 *
 * Session ids: ZooKeeper's are 64-bit; the client core keeps a number. The
 * exact id travels inside the opaque session secret the core hands back on a
 * reconnect (`<16-hex id>.<32-hex password>`), and the number the core shows
 * is the id's low 53 bits. Corral's own ids are below 2^53 and shown exactly.
 */
import {
  ErrorCode,
  JuteError,
  ZkPacketFramer,
  ZkXid,
  corralOpToZkRequest,
  decodeConnectResponse,
  decodeServerReply,
  defaultJuteLimits,
  encodeClientRequest,
  encodeConnectRequest,
  frameZkPacket,
  secretToZkPassword,
  zkErrorToCorral,
  zkPasswordToSecret,
  zkReplyToCorral,
  zkSessionIdToNumber,
  EventType,
  KeeperState,
  type ClientMessage,
  type JuteLimits,
  type NodeMessage,
  type ZkRequest,
  type ZkRequestOp,
} from "@corral/protocol";

/** Why a connection must be dropped: the peer broke the protocol or a bound was hit. */
export class WireProtocolError extends Error {
  readonly _tag = "WireProtocolError";
  readonly code = "WIRE_PROTOCOL_ERROR";
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = "WireProtocolError";
  }
}

export interface ZkWireOptions {
  /** Shown as the `nodeId` of the connected message (the server's address). */
  readonly server: string;
  readonly limits?: JuteLimits;
  /** Requests in flight on the wire at once (ZooKeeper has no bound; ours is explicit). Default 10,000. */
  readonly maxInFlight?: number;
}

interface InFlight {
  /** The client's xid this wire xid answers; undefined for the `sync` in front of a linearizable read. */
  readonly clientXid: number | undefined;
  readonly request: ZkRequest;
}

const EVENT_TYPES: readonly EventType[] = Object.values(EventType);
const NO_PASSWORD = new Uint8Array(16);
const PING_PACKET = (): Uint8Array => {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setInt32(0, ZkXid.ping, false);
  view.setInt32(4, 11, false);
  return frameZkPacket(out);
};

/** `<16-hex session id>.<32-hex password>`: what the core keeps as the session secret. */
export function packZkSecret(sessionId: bigint, passwd: Uint8Array | null): string {
  return `${BigInt.asUintN(64, sessionId).toString(16).padStart(16, "0")}.${zkPasswordToSecret(passwd)}`;
}

/** The exact session id and password of a packed secret, or undefined if it is not one. */
export function unpackZkSecret(secret: string): { readonly sessionId: bigint; readonly passwd: Uint8Array } | undefined {
  const match = /^([0-9a-f]{16})\.([0-9a-f]{32})$/.exec(secret);
  if (match === null) return undefined;
  const passwd = secretToZkPassword(match[2]!);
  if (passwd instanceof JuteError) return undefined;
  return { sessionId: BigInt.asIntN(64, BigInt(`0x${match[1]!}`)), passwd };
}

export class ZkWireClient {
  private readonly framer: ZkPacketFramer;
  private readonly limits: JuteLimits;
  private readonly maxInFlight: number;
  private readonly inFlight = new Map<number, InFlight>();
  /** Client xids of addAuth requests, answered in order by xid -4 replies after the connect-time ones. */
  private readonly authWaiters: number[] = [];
  private connectAuthPending = 0;
  private lastZxidSeen = 0;
  private nextWireXid = 1;
  private connected = false;
  private closeXid: number | undefined;

  constructor(private readonly options: ZkWireOptions) {
    this.limits = options.limits ?? defaultJuteLimits;
    this.framer = new ZkPacketFramer({ maxPacketBytes: this.limits.maxPacketBytes });
    this.maxInFlight = options.maxInFlight ?? 10_000;
  }

  /** Packets to write for one client message, or why it cannot be sent on this connection. */
  encode(message: ClientMessage): Uint8Array[] | WireProtocolError {
    switch (message.type) {
      case "connect":
        return this.encodeConnect(message);
      case "ping":
        return [PING_PACKET()];
      case "close": {
        const xid = this.takeXid();
        this.closeXid = xid;
        return this.packet(xid, { op: "closeSession" });
      }
      case "request": {
        if (this.inFlight.size >= this.maxInFlight) return new WireProtocolError(`more than ${this.maxInFlight} requests in flight`);
        const op = message.op;
        if (op.type === "addAuth") {
          const auth = this.packet(ZkXid.auth, corralOpToZkRequest(op));
          if (!(auth instanceof WireProtocolError)) this.authWaiters.push(message.xid);
          return auth;
        }
        const request = corralOpToZkRequest(op);
        const out: Uint8Array[] = [];
        if (message.linearizable === true && "path" in op && typeof op.path === "string") {
          // Without Corral's extension a linearizable read is ZooKeeper's recipe: sync, then read, pipelined.
          const syncXid = this.takeXid();
          const sync = this.packet(syncXid, { op: "sync", path: op.path });
          if (sync instanceof WireProtocolError) return sync;
          this.inFlight.set(syncXid, { clientXid: undefined, request: { op: "sync", path: op.path } });
          out.push(...sync);
        }
        const xid = this.takeXid();
        const packets = this.packet(xid, request);
        if (packets instanceof WireProtocolError) return packets;
        this.inFlight.set(xid, { clientXid: message.xid, request });
        out.push(...packets);
        return out;
      }
    }
  }

  /** Bytes from the server as messages for the core, or why the connection must be dropped. */
  receive(chunk: Uint8Array): NodeMessage[] | WireProtocolError {
    const framed = this.framer.push(chunk);
    if (framed instanceof JuteError) return new WireProtocolError(`bad frame from ${this.options.server}: ${framed.message}`, { cause: framed });
    const out: NodeMessage[] = [];
    for (const packet of framed.packets) {
      const failure = this.connected ? this.onReply(packet, out) : this.onConnectResponse(packet, out);
      if (failure !== undefined) return failure;
    }
    return out;
  }

  /** Bytes buffered for a packet not yet complete (bounded by the packet limit). */
  get bufferedBytes(): number {
    return this.framer.bufferedBytes;
  }

  private encodeConnect(message: Extract<ClientMessage, { type: "connect" }>): Uint8Array[] | WireProtocolError {
    let sessionId = 0n;
    let passwd: Uint8Array = NO_PASSWORD;
    if (message.sessionId !== null) {
      const packed = message.secret === null ? undefined : unpackZkSecret(message.secret);
      if (packed !== undefined) {
        sessionId = packed.sessionId;
        passwd = packed.passwd;
      } else {
        const plain = message.secret === null ? undefined : secretToZkPassword(message.secret);
        if (plain === undefined || plain instanceof JuteError) return new WireProtocolError("the session's secret is not a ZooKeeper password");
        sessionId = BigInt(message.sessionId);
        passwd = plain;
      }
    }
    this.lastZxidSeen = message.lastZxidSeen;
    const connect = encodeConnectRequest(
      { protocolVersion: 0, lastZxidSeen: BigInt(message.lastZxidSeen), timeOut: message.timeoutMs, sessionId, passwd, readOnly: false },
      this.limits,
    );
    if (connect instanceof JuteError) return new WireProtocolError(`connect: ${connect.message}`, { cause: connect });
    const out = [frameZkPacket(connect)];
    const w = message.watches;
    if (w.data.length + w.exists.length + w.child.length + w.persistent.length + w.persistentRecursive.length > 0) {
      const set = this.packet(ZkXid.setWatches, {
        op: "setWatches2",
        relativeZxid: BigInt(message.lastZxidSeen),
        dataWatches: w.data,
        existWatches: w.exists,
        childWatches: w.child,
        persistentWatches: w.persistent,
        persistentRecursiveWatches: w.persistentRecursive,
      });
      if (set instanceof WireProtocolError) return set;
      out.push(...set);
    }
    for (const credential of message.auth) {
      const auth = this.packet(ZkXid.auth, { op: "auth", type: 0, scheme: credential.scheme, auth: new TextEncoder().encode(credential.credentials) });
      if (auth instanceof WireProtocolError) return auth;
      out.push(...auth);
      this.connectAuthPending++;
    }
    return out;
  }

  private onConnectResponse(packet: Uint8Array, out: NodeMessage[]): WireProtocolError | undefined {
    const response = decodeConnectResponse(packet, this.limits);
    if (response instanceof JuteError) return new WireProtocolError(`bad ConnectResponse from ${this.options.server}: ${response.message}`, { cause: response });
    if (response.timeOut <= 0) {
      out.push({ type: "connectFailed", code: ErrorCode.SessionExpired, message: `${this.options.server}: session expired or unknown (timeOut 0)` });
      return undefined;
    }
    this.connected = true;
    out.push({
      type: "connected",
      sessionId: zkSessionIdToNumber(response.sessionId),
      secret: packZkSecret(response.sessionId, response.passwd),
      timeoutMs: response.timeOut,
      nodeId: this.options.server,
      // ZooKeeper's ConnectResponse carries no zxid: the client's own floor is the honest answer.
      zxid: this.lastZxidSeen,
    });
    return undefined;
  }

  private onReply(packet: Uint8Array, out: NodeMessage[]): WireProtocolError | undefined {
    const expected = (xid: number): ZkRequestOp | undefined => {
      if (xid === ZkXid.setWatches) return "setWatches2";
      if (xid === this.closeXid) return "closeSession";
      return this.inFlight.get(xid)?.request.op;
    };
    const reply = decodeServerReply(packet, expected, this.limits);
    if (reply instanceof JuteError) return new WireProtocolError(`bad reply from ${this.options.server}: ${reply.message}`, { cause: reply });
    const zxid = Number(reply.header.zxid);
    if (reply.kind === "notification") {
      const type = EVENT_TYPES.find((t) => t === reply.event.type);
      // EventType.None carries a state change only: the core learns its states from the connection itself.
      if (type === undefined || type === EventType.None) return undefined;
      out.push({ type: "event", event: type, state: KeeperState.SyncConnected, path: reply.event.path, zxid: Math.max(zxid, 0) });
      return undefined;
    }
    const xid = reply.header.xid;
    if (zxid > this.lastZxidSeen) this.lastZxidSeen = zxid;
    if (xid === ZkXid.ping) {
      out.push({ type: "pong", zxid: Math.max(zxid, 0) });
      return undefined;
    }
    if (xid === ZkXid.setWatches) return undefined;
    if (xid === ZkXid.auth) {
      if (this.connectAuthPending > 0) {
        this.connectAuthPending--;
        if (reply.header.err !== 0) out.push({ type: "connectFailed", code: ErrorCode.AuthFailed, message: `${this.options.server}: credentials refused` });
        return undefined;
      }
      const clientXid = this.authWaiters.shift();
      if (clientXid === undefined) {
        if (reply.header.err !== 0) out.push({ type: "connectFailed", code: ErrorCode.AuthFailed, message: `${this.options.server}: credentials refused` });
        return undefined;
      }
      const result = reply.header.err === 0 ? ({ type: "addAuth" } as const) : ({ type: "error", code: zkErrorToCorral(reply.header.err) } as const);
      out.push({ type: "response", xid: clientXid, zxid: Math.max(zxid, 0), result });
      return undefined;
    }
    if (xid === this.closeXid) {
      out.push({ type: "sessionEnded", code: ErrorCode.Ok });
      return undefined;
    }
    const inFlight = this.inFlight.get(xid);
    if (inFlight === undefined) return new WireProtocolError(`reply for unknown xid ${xid} from ${this.options.server}`);
    this.inFlight.delete(xid);
    if (inFlight.clientXid === undefined) return undefined; // the sync in front of a linearizable read
    const result = zkReplyToCorral(inFlight.request, reply.header.err, reply.response);
    if (result instanceof JuteError) return new WireProtocolError(`reply for xid ${xid}: ${result.message}`, { cause: result });
    out.push({ type: "response", xid: inFlight.clientXid, zxid: Math.max(zxid, 0), result });
    return undefined;
  }

  private takeXid(): number {
    const xid = this.nextWireXid;
    // Wire xids are positive int32s; ZooKeeper wraps them the same way.
    this.nextWireXid = xid >= 0x7fff_ffff ? 1 : xid + 1;
    return xid;
  }

  private packet(xid: number, request: ZkRequest): Uint8Array[] | WireProtocolError {
    const bytes = encodeClientRequest(xid, request, this.limits);
    if (bytes instanceof JuteError) return new WireProtocolError(`cannot encode ${request.op}: ${bytes.message}`, { cause: bytes });
    return [frameZkPacket(bytes)];
  }
}
