/**
 * A minimal ZooKeeper-wire client over the simulated stream
 * (@corral/server SimClientStream): what a ZooKeeper client puts on the wire
 * (ConnectRequest, RequestHeader + request, xid -2 pings, -4 auth, -8
 * SetWatches) and what it reads back, decoded with the protocol package's
 * jute codec. Tests and the simulator use it to drive nodes over the
 * ZooKeeper protocol; it keeps everything it received for assertions.
 */
import {
  ZkPacketFramer,
  ZkXid,
  decodeConnectResponse,
  decodeServerReply,
  encodeClientRequest,
  encodeConnectRequest,
  frameZkPacket,
  isJuteError,
  type ZkConnectResponse,
  type ZkRequest,
  type ZkRequestOp,
  type ZkServerReply,
} from "@corral/protocol";
import type { SimClientStream } from "@corral/server";

export interface ZkConnectOptions {
  readonly sessionId?: bigint;
  readonly passwd?: Uint8Array;
  readonly lastZxidSeen?: bigint;
  readonly timeOutMs?: number;
  readonly readOnly?: boolean;
}

type Received = ZkServerReply | { readonly kind: "connect"; readonly response: ZkConnectResponse } | { readonly kind: "undecodable"; readonly reason: string };

export class ZkSimClient {
  private readonly framer = new ZkPacketFramer();
  private readonly pending = new Map<number, ZkRequestOp>();
  private nextXid = 1;
  private connectSent = false;
  private connectAnswered = false;
  /** Everything received, in order. */
  readonly received: Received[] = [];
  /** The highest reply zxid (what a ZooKeeper client sends as lastZxidSeen). */
  lastZxid = 0n;
  closed = false;

  constructor(readonly stream: SimClientStream) {
    stream.onData((bytes) => this.onBytes(bytes));
    stream.onClose(() => {
      this.closed = true;
    });
  }

  connect(options: ZkConnectOptions = {}): void {
    const request = {
      protocolVersion: 0,
      lastZxidSeen: options.lastZxidSeen ?? 0n,
      timeOut: options.timeOutMs ?? 6_000,
      sessionId: options.sessionId ?? 0n,
      passwd: options.passwd ?? new Uint8Array(16),
      ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }),
    };
    const bytes = encodeConnectRequest(request);
    if (isJuteError(bytes)) throw bytes;
    this.connectSent = true;
    this.stream.write(frameZkPacket(bytes));
  }

  /** Sends a request; returns the xid it went with (auth: -4, SetWatches: -8, else the next xid). */
  send(request: ZkRequest, xid?: number): number {
    const chosen = xid ?? (request.op === "auth" ? ZkXid.auth : request.op === "setWatches" || request.op === "setWatches2" ? ZkXid.setWatches : this.nextXid++);
    this.pending.set(chosen, request.op);
    this.stream.write(this.encode(chosen, request));
    return chosen;
  }

  /** The bytes of a request, for tests that pipeline several in one write. */
  encode(xid: number, request: ZkRequest): Uint8Array {
    const bytes = encodeClientRequest(xid, request);
    if (isJuteError(bytes)) throw bytes;
    this.pending.set(xid, request.op);
    return frameZkPacket(bytes);
  }

  ping(): void {
    this.stream.write(this.encode(ZkXid.ping, { op: "ping" }));
  }

  get connectResponse(): ZkConnectResponse | undefined {
    for (const item of this.received) if (item.kind === "connect") return item.response;
    return undefined;
  }

  /** The replies with this xid, in order. */
  replies(xid: number): Extract<ZkServerReply, { kind: "reply" }>[] {
    return this.received.filter((item): item is Extract<ZkServerReply, { kind: "reply" }> => item.kind === "reply" && item.header.xid === xid);
  }

  reply(xid: number): Extract<ZkServerReply, { kind: "reply" }> | undefined {
    return this.replies(xid)[0];
  }

  notifications(): Extract<ZkServerReply, { kind: "notification" }>[] {
    return this.received.filter((item): item is Extract<ZkServerReply, { kind: "notification" }> => item.kind === "notification");
  }

  /** Index of a received item in arrival order (for ordering assertions). */
  indexOf(predicate: (item: Received) => boolean): number {
    return this.received.findIndex(predicate);
  }

  private onBytes(bytes: Uint8Array): void {
    const out = this.framer.push(bytes);
    if (isJuteError(out)) {
      this.received.push({ kind: "undecodable", reason: out.message });
      return;
    }
    for (const packet of out.packets) {
      if (this.connectSent && !this.connectAnswered) {
        this.connectAnswered = true;
        const response = decodeConnectResponse(packet);
        if (isJuteError(response)) this.received.push({ kind: "undecodable", reason: response.message });
        else this.received.push({ kind: "connect", response });
        continue;
      }
      // Replies to xid -8 / -4 are matched like any other (pending keeps their op).
      // An xid the client never sent (a test writing raw bytes) reads as a bare header.
      const reply = decodeServerReply(packet, (xid) => this.pending.get(xid) ?? "ping");
      if (isJuteError(reply)) {
        this.received.push({ kind: "undecodable", reason: reply.message });
        continue;
      }
      if (reply.kind === "reply" && reply.header.xid > 0) this.pending.delete(reply.header.xid);
      // As ClientCnxn: ping and auth replies do not move lastZxid.
      if (reply.kind === "reply" && reply.header.xid !== ZkXid.ping && reply.header.xid !== ZkXid.auth && reply.header.zxid > this.lastZxid) this.lastZxid = reply.header.zxid;
      this.received.push(reply);
    }
  }
}
