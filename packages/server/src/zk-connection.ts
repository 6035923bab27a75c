/**
 * One ZooKeeper-wire client connection, as a pure adapter between bytes and
 * the sessions actor (DESIGN §7 "Client port"). No sockets, no timers: bytes
 * come in through `receive`, the actor's messages through `deliver`, and
 * everything leaves through the injected `ZkConnectionIo`. The live TCP edge
 * (client-port.ts) and the simulated stream (zk-sim-stream.ts) drive the same
 * code.
 *
 * In: framer -> the first packet is a ConnectRequest (or a four-letter word),
 * then RequestHeader + request. Each ZooKeeper request becomes one or more
 * actor requests under *internal* xids (1, 2, 3 ...): ZooKeeper's own xids
 * repeat (-4 auth, -8 SetWatches) and may wrap, the actor's must grow. The
 * original ZkRequest is kept per slot so the reply has its shape (create vs
 * create2, exists -> NoNode ...). Replies leave in request order: the actor
 * answers its requests in order, and what this adapter answers itself
 * (rejections, unknown opcodes) waits its turn in the same slot queue.
 *
 * Out: `connected` -> ConnectResponse; `connectFailed` for an expired session
 * or a wrong password -> ConnectResponse with timeOut 0, then close
 * (ZooKeeper's answer; clients report SessionExpired); events -> xid -1
 * notifications; pongs -> xid -2 replies; `sessionEnded` -> the closeSession
 * reply (when asked) and close.
 *
 * Bounds: a packet is at most `maxPacketBytes` (framer); at most
 * `maxOutstandingRequests` requests unanswered (beyond: close,
 * "OutstandingLimit"; at `pauseAtOutstanding` the adapter asks its transport
 * to stop reading, like ZooKeeper's throttling); at most
 * `maxBufferedOutputBytes` written and not yet taken by the client (beyond:
 * close, "OutputBudget"). A malformed packet closes this connection only;
 * an unknown opcode is answered Unimplemented and the connection stays.
 */
import {
  ErrorCode,
  SESSION_PROTOCOL_VERSION,
  ZK_PASSWORD_BYTES,
  ZkPacketFramer,
  ZkXid,
  corralErrorToZk,
  corralMultiReadToZk,
  corralResultToZk,
  corralWatchEventToZk,
  corralWhoAmIToZk,
  decodeClientPacket,
  decodeConnectRequest,
  defaultJuteLimits,
  emptyWatchSet,
  encodeConnectResponse,
  encodeServerReply,
  frameZkPacket,
  isJuteError,
  secretToZkPassword,
  zkPasswordToSecret,
  zkRequestToCorral,
  type ErrorCodeValue,
  type JuteError,
  type JuteLimits,
  type ReadResult,
  type ZkRequest,
  type ZkResponse,
  type ZkServerReply,
} from "@corral/protocol";
import type { StreamClientMessage, StreamNodeMessage, StreamResult } from "./sessions-actor.js";

export interface ZkConnectionLimits {
  /** Largest packet payload accepted (the framer's bound). */
  readonly maxPacketBytes: number;
  /** Requests received and not yet answered; one more closes the connection ("OutstandingLimit"). */
  readonly maxOutstandingRequests: number;
  /** At this many unanswered requests the adapter asks the transport to stop reading until some are answered. */
  readonly pauseAtOutstanding: number;
  /** Bytes written and not yet taken by the client; more closes the connection ("OutputBudget"). */
  readonly maxBufferedOutputBytes: number;
}

export const defaultZkConnectionLimits: ZkConnectionLimits = Object.freeze({
  maxPacketBytes: defaultJuteLimits.maxPacketBytes,
  maxOutstandingRequests: 1_000,
  pauseAtOutstanding: 500,
  maxBufferedOutputBytes: 16 * 1024 * 1024,
});

/** Why a connection was closed: a stable `code` (plus details where they help). */
export type ZkCloseReason =
  /** The client closed its end (or the transport broke). */
  | { readonly code: "ClientClosed" }
  /** A packet did not decode (or framing failed): this connection only. */
  | { readonly code: "Malformed"; readonly error: JuteError }
  | { readonly code: "OutstandingLimit"; readonly limit: number }
  | { readonly code: "OutputBudget"; readonly limit: number }
  /** A write found the session owned by a newer connection (ZooKeeper closes too). */
  | { readonly code: "SessionMoved" }
  /** closeSession completed, or the session expired while connected. */
  | { readonly code: "SessionEnded"; readonly expired: boolean }
  /** Connect refused: `answered` when a ConnectResponse with timeOut 0 went out first (expired / bad password). */
  | { readonly code: "ConnectRefused"; readonly zkCode: number; readonly answered: boolean }
  /** Authentication the node cannot do (SASL, credentials that are not UTF-8). */
  | { readonly code: "AuthFailed" }
  | { readonly code: "FourLetterWord"; readonly word: string }
  /** The node closed it (limits, replaced by a newer connection of the session, node stopping, timeouts). */
  | { readonly code: "NodeClosed"; readonly reason: string };

export interface ZkConnectionIo {
  /** To the sessions actor; false if it could not take the message (the connection then closes). */
  toSessions(message: StreamClientMessage): boolean;
  /** Bytes for the client, in order. */
  write(bytes: Uint8Array): void;
  /** Bytes written and not yet taken by the client. */
  bufferedOutputBytes(): number;
  /** Close the transport after what was written. Called at most once. */
  close(reason: ZkCloseReason): void;
  /** Stop (false) or resume (true) reading from the client. Optional: a transport without flow control ignores it. */
  setReading?(reading: boolean): void;
  /** The answer to a four-letter word (the connection closes after it). Default: ruok -> imok, others refused. */
  fourLetterWord?(word: string): string;
}

interface Slot {
  /** The ZooKeeper xid to answer with. */
  readonly zkXid: number;
  readonly request: ZkRequest | undefined;
  readonly kind: "op" | "multiRead" | "setWatches" | "whoAmI" | "close" | "local";
  /** Internal xids still unanswered. */
  waiting: number;
  readonly reads: (ReadResult | undefined)[];
  zxid: number;
  /** Set once the slot can be answered. */
  reply: { readonly err: number; readonly response: ZkResponse | null } | { readonly close: ZkCloseReason } | undefined;
  /** Close the connection after this reply (auth failures). */
  closeAfter: ZkCloseReason | undefined;
}

const NOT_WHITELISTED = (word: string): string => `${word} is not executed because it is not in the whitelist.\n`;

/**
 * The ZooKeeper version Corral answers as: the wire protocol it speaks is
 * 3.8's (create2, multiRead, addWatch, whoAmI...). Clients such as kazoo read
 * it from `envi` to decide which requests they may send.
 */
export const ZOOKEEPER_COMPATIBLE_VERSION = "3.8.0";

/** Four-letter words every connection answers without node state: ruok, envi (version), isro. */
export function defaultFourLetterWord(word: string): string {
  switch (word) {
    case "ruok":
      return "imok";
    case "envi":
      return `Environment:\nzookeeper.version=${ZOOKEEPER_COMPATIBLE_VERSION}-corral, built on 1970-01-01 00:00 UTC\nhost.name=corral\n`;
    case "isro":
      return "rw";
    default:
      return NOT_WHITELISTED(word);
  }
}

export class ZkConnection {
  private state: "connect" | "connecting" | "open" | "closed" = "connect";
  private readonly framer: ZkPacketFramer;
  private readonly juteLimits: JuteLimits;
  private readonly slots: Slot[] = [];
  private readonly byInternal = new Map<number, { readonly slot: Slot; readonly index: number }>();
  private nextInternalXid = 1;
  /** Highest zxid the actor has answered with: the header zxid of what this adapter answers itself. */
  private lastZxid = 0;
  /** Echo the client's readOnly byte (ZooKeeper's ProtocolManager). */
  private readOnlyPresent = false;
  private closeRequested = false;
  private reading = true;
  private closedWith: ZkCloseReason | undefined;
  /** Negotiated session timeout, once connected (the edge's idle timeout follows it). */
  timeoutMs = 0;
  sessionId = 0;

  constructor(
    private readonly io: ZkConnectionIo,
    readonly limits: ZkConnectionLimits = defaultZkConnectionLimits,
  ) {
    if (!(limits.pauseAtOutstanding >= 1 && limits.pauseAtOutstanding <= limits.maxOutstandingRequests)) {
      throw new RangeError("ZkConnectionLimits: 1 <= pauseAtOutstanding <= maxOutstandingRequests");
    }
    this.framer = new ZkPacketFramer({ maxPacketBytes: limits.maxPacketBytes, fourLetterWords: true });
    this.juteLimits = { ...defaultJuteLimits, maxPacketBytes: Math.max(limits.maxPacketBytes, defaultJuteLimits.maxPacketBytes) };
  }

  get closed(): boolean {
    return this.state === "closed";
  }
  get closeReason(): ZkCloseReason | undefined {
    return this.closedWith;
  }
  get connected(): boolean {
    return this.state === "open";
  }
  /** Requests received and not yet answered. */
  get outstanding(): number {
    return this.slots.length;
  }

  /** Bytes from the client. Never throws on any input. */
  receive(chunk: Uint8Array): void {
    if (this.state === "closed") return;
    const out = this.framer.push(chunk);
    if (isJuteError(out)) {
      this.close({ code: "Malformed", error: out });
      return;
    }
    if (out.fourLetterWord !== undefined) {
      const detection = out.fourLetterWord;
      if (detection.kind === "telnetClose") {
        this.close({ code: "FourLetterWord", word: "telnetClose" });
        return;
      }
      const word = detection.word;
      const text = this.io.fourLetterWord?.(word) ?? defaultFourLetterWord(word);
      this.io.write(new TextEncoder().encode(text));
      this.close({ code: "FourLetterWord", word });
      return;
    }
    for (const packet of out.packets) {
      if (this.closed) return;
      if (this.state === "connect") this.handleConnect(packet);
      else this.handlePacket(packet);
    }
    this.updateReading();
  }

  /** The transport closed (the client went away). */
  transportClosed(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closedWith = { code: "ClientClosed" };
  }

  /** The node closed the connection (sessions actor, limits, timeouts). */
  closeFromNode(reason: string): void {
    this.close({ code: "NodeClosed", reason });
  }

  /** A message from the sessions actor. */
  deliver(message: StreamNodeMessage): void {
    if (this.state === "closed") return;
    switch (message.type) {
      case "connected": {
        const passwd = secretToZkPassword(message.secret);
        if (isJuteError(passwd)) {
          // Every secret is 16 random bytes (SESSION_SECRET_BYTES); one that is not cannot be resumed by a ZooKeeper client.
          this.close({ code: "NodeClosed", reason: "session secret is not a 16-byte ZooKeeper password" });
          return;
        }
        this.state = "open";
        this.timeoutMs = message.timeoutMs;
        this.sessionId = message.sessionId;
        this.writeConnectResponse(message.timeoutMs, BigInt(message.sessionId), passwd);
        return;
      }
      case "connectFailed": {
        const answered = message.code === ErrorCode.SessionExpired || message.code === ErrorCode.AuthFailed;
        // ZooKeeper's answer to an unknown/expired session or a wrong password: timeOut 0, the client reports SessionExpired.
        if (answered) this.writeConnectResponse(0, 0n, new Uint8Array(ZK_PASSWORD_BYTES));
        this.close({ code: "ConnectRefused", zkCode: message.code, answered });
        return;
      }
      case "response": {
        this.lastZxid = Math.max(this.lastZxid, message.zxid);
        const entry = this.byInternal.get(message.xid);
        if (entry === undefined) return;
        this.byInternal.delete(message.xid);
        this.answerPart(entry.slot, entry.index, message.zxid, message.result);
        this.flush();
        return;
      }
      case "event":
        this.writeReply(corralWatchEventToZk({ type: message.event, state: message.state, path: message.path, zxid: message.zxid }));
        return;
      case "pong":
        this.lastZxid = Math.max(this.lastZxid, message.zxid);
        this.writeReply({ kind: "reply", header: { xid: ZkXid.ping, zxid: BigInt(message.zxid), err: 0 }, response: null });
        return;
      case "sessionEnded": {
        const closeSlot = this.slots.find((slot) => slot.kind === "close");
        if (closeSlot !== undefined && message.code === ErrorCode.Ok) {
          closeSlot.reply = { err: 0, response: null };
          closeSlot.zxid = this.lastZxid;
          this.flushThrough(closeSlot);
        }
        this.close({ code: "SessionEnded", expired: message.code !== ErrorCode.Ok });
        return;
      }
    }
  }

  // ---------------------------------------------------------------- input --

  private handleConnect(packet: Uint8Array): void {
    const request = decodeConnectRequest(packet, this.juteLimits);
    if (isJuteError(request)) {
      this.close({ code: "Malformed", error: request });
      return;
    }
    this.readOnlyPresent = request.readOnly !== undefined;
    const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
    if (request.lastZxidSeen < 0n || request.lastZxidSeen > maxSafe) {
      // No Corral zxid is negative or beyond 2^53: this client has seen another ensemble. Refuse without an answer, as
      // ZooKeeper refuses a client that has seen a zxid it has not: the client tries another server.
      this.close({ code: "ConnectRefused", zkCode: ErrorCode.BadArguments, answered: false });
      return;
    }
    let sessionId: number | null = null;
    if (request.sessionId !== 0n) {
      if (request.sessionId < 0n || request.sessionId > maxSafe) {
        // Corral never issues such an id: it is no session of ours.
        this.writeConnectResponse(0, 0n, new Uint8Array(ZK_PASSWORD_BYTES));
        this.close({ code: "ConnectRefused", zkCode: ErrorCode.SessionExpired, answered: true });
        return;
      }
      sessionId = Number(request.sessionId);
    }
    this.state = "connecting";
    this.send({
      type: "connect",
      protocolVersion: SESSION_PROTOCOL_VERSION,
      sessionId,
      secret: sessionId === null ? null : zkPasswordToSecret(request.passwd),
      timeoutMs: Math.max(1, request.timeOut),
      lastZxidSeen: Number(request.lastZxidSeen),
      watches: emptyWatchSet,
      auth: [],
    });
  }

  private handlePacket(bytes: Uint8Array): void {
    if (this.closeRequested) return; // nothing after closeSession is served
    const packet = decodeClientPacket(bytes, this.juteLimits);
    if (isJuteError(packet)) {
      if (packet.code === "UnknownOpcode" && packet.xid !== undefined) {
        // ZooKeeper's UnimplementedRequestProcessor: answer and keep the connection.
        if (!this.admit()) return;
        this.local(packet.xid, ErrorCode.Unimplemented);
        this.flush();
        return;
      }
      this.close({ code: "Malformed", error: packet });
      return;
    }
    const { header, request } = packet;
    const mapped = zkRequestToCorral(request);
    if (mapped.kind === "ping") {
      this.send({ type: "ping" });
      return;
    }
    if (!this.admit()) return;
    switch (mapped.kind) {
      case "op": {
        const slot = this.slot(header.xid, request, "op", 1);
        this.send({ type: "request", xid: this.internal(slot, 0), op: mapped.op });
        break;
      }
      case "multiRead": {
        const slot = this.slot(header.xid, request, "multiRead", mapped.ops.length);
        if (mapped.ops.length === 0) slot.reply = { err: 0, response: corralMultiReadToZk([]) };
        mapped.ops.forEach((op, index) => this.send({ type: "request", xid: this.internal(slot, index), op }));
        break;
      }
      case "closeSession":
        this.closeRequested = true;
        this.slot(header.xid, request, "close", 1);
        this.send({ type: "close" });
        break;
      case "setWatches": {
        const slot = this.slot(header.xid, request, "setWatches", 1);
        this.send({ type: "setWatches", xid: this.internal(slot, 0), relativeZxid: mapped.relativeZxid, watches: mapped.watches });
        break;
      }
      case "whoAmI": {
        const slot = this.slot(header.xid, request, "whoAmI", 1);
        this.send({ type: "whoAmI", xid: this.internal(slot, 0) });
        break;
      }
      case "checkWatches":
        // The client checked its own watcher table first; the node does not look its registry up (a known limitation).
        this.local(header.xid, 0);
        break;
      case "reject": {
        const slot = this.local(header.xid, mapped.zkCode);
        if (mapped.close) slot.closeAfter = { code: "AuthFailed" };
        break;
      }
    }
    this.flush();
  }

  /** Room for one more outstanding request? Closes the connection when not. */
  private admit(): boolean {
    if (this.slots.length >= this.limits.maxOutstandingRequests) {
      this.close({ code: "OutstandingLimit", limit: this.limits.maxOutstandingRequests });
      return false;
    }
    return true;
  }

  private slot(zkXid: number, request: ZkRequest | undefined, kind: Slot["kind"], parts: number): Slot {
    const slot: Slot = { zkXid, request, kind, waiting: parts, reads: [], zxid: this.lastZxid, reply: undefined, closeAfter: undefined };
    this.slots.push(slot);
    return slot;
  }

  private local(zkXid: number, err: number): Slot {
    const slot = this.slot(zkXid, undefined, "local", 0);
    slot.reply = { err, response: null };
    return slot;
  }

  private internal(slot: Slot, index: number): number {
    const xid = this.nextInternalXid++;
    this.byInternal.set(xid, { slot, index });
    return xid;
  }

  private send(message: StreamClientMessage): void {
    if (this.state === "closed") return;
    if (!this.io.toSessions(message)) this.close({ code: "NodeClosed", reason: "node busy: the sessions actor refused the message" });
  }

  // --------------------------------------------------------------- output --

  private answerPart(slot: Slot, index: number, zxid: number, result: StreamResult): void {
    slot.zxid = Math.max(slot.zxid, zxid);
    slot.waiting--;
    switch (slot.kind) {
      case "multiRead":
        slot.reads[index] = result as ReadResult;
        if (slot.waiting === 0) slot.reply = { err: 0, response: corralMultiReadToZk(slot.reads.map((read) => read ?? { type: "error", code: ErrorCode.SystemError })) };
        return;
      case "setWatches":
        slot.reply = result.type === "setWatches" ? { err: 0, response: null } : errorReply(result);
        return;
      case "whoAmI":
        slot.reply = result.type === "whoAmI" ? { err: 0, response: corralWhoAmIToZk(result.ids) } : errorReply(result);
        return;
      case "op": {
        if (result.type === "setWatches" || result.type === "whoAmI" || slot.request === undefined) {
          slot.reply = { err: ErrorCode.SystemError, response: null };
          return;
        }
        const body = corralResultToZk(slot.request, result);
        slot.reply = body.action === "close" ? { close: { code: "SessionMoved" } } : { err: body.err, response: body.response };
        // ZooKeeper answers a refused auth packet (unknown scheme, bad credentials) with AuthFailed and closes the connection.
        if (slot.request.op === "auth" && body.action !== "close" && body.err !== 0) slot.closeAfter = { code: "AuthFailed" };
        return;
      }
      case "close":
      case "local":
        return;
    }
  }

  /** Send every answered slot at the head, in order. */
  private flush(): void {
    while (this.state !== "closed" && this.slots.length > 0) {
      const head = this.slots[0]!;
      if (head.reply === undefined) break;
      this.slots.shift();
      this.sendSlot(head);
    }
    this.updateReading();
  }

  private flushThrough(target: Slot): void {
    // The close slot is answered once everything before it is (the actor answers in order; a missing one means ConnectionLoss for it).
    while (this.state !== "closed" && this.slots.length > 0) {
      const head = this.slots.shift()!;
      if (head.reply === undefined) continue;
      this.sendSlot(head);
      if (head === target) return;
    }
  }

  private sendSlot(slot: Slot): void {
    const reply = slot.reply!;
    if ("close" in reply) {
      this.close(reply.close);
      return;
    }
    this.writeReply({ kind: "reply", header: { xid: slot.zkXid, zxid: BigInt(slot.zxid), err: reply.err }, response: reply.err === 0 ? reply.response : null });
    if (slot.closeAfter !== undefined) this.close(slot.closeAfter);
  }

  private writeConnectResponse(timeOut: number, sessionId: bigint, passwd: Uint8Array): void {
    const bytes = encodeConnectResponse(
      this.readOnlyPresent ? { protocolVersion: 0, timeOut, sessionId, passwd, readOnly: false } : { protocolVersion: 0, timeOut, sessionId, passwd },
      this.juteLimits,
    );
    if (isJuteError(bytes)) {
      this.close({ code: "NodeClosed", reason: `connect response did not encode: ${bytes.message}` });
      return;
    }
    this.write(frameZkPacket(bytes));
  }

  private writeReply(reply: ZkServerReply): void {
    if (this.state === "closed") return;
    const bytes = encodeServerReply(reply, this.juteLimits);
    if (isJuteError(bytes)) {
      // A result the wire cannot carry (e.g. larger than a packet): the client cannot be answered in shape; close.
      this.close({ code: "NodeClosed", reason: `reply did not encode: ${bytes.message}` });
      return;
    }
    this.write(frameZkPacket(bytes));
  }

  private write(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.io.write(bytes);
    const buffered = this.io.bufferedOutputBytes();
    if (buffered > this.limits.maxBufferedOutputBytes) this.close({ code: "OutputBudget", limit: this.limits.maxBufferedOutputBytes });
  }

  private updateReading(): void {
    if (this.state === "closed") return;
    const want = this.slots.length < this.limits.pauseAtOutstanding;
    if (want === this.reading) return;
    this.reading = want;
    this.io.setReading?.(want);
  }

  private close(reason: ZkCloseReason): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closedWith = reason;
    this.io.close(reason);
  }
}

function errorReply(result: StreamResult): { readonly err: number; readonly response: null } {
  const code: ErrorCodeValue = result.type === "error" && result.code !== ErrorCode.Ok ? result.code : ErrorCode.SystemError;
  return { err: corralErrorToZk(code).zkCode, response: null };
}
