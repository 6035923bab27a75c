/**
 * A minimal test-only client: speaks the session protocol (protocol/session.ts)
 * over a ReliableChannel to one node at a time, records everything it
 * receives in order, and lets a test re-send writes with their original seq
 * on another node. No retries, no timers beyond optional pings: tests drive it.
 */
import { ReliableChannel, channelFrameCodec, decodeFrame, encodeChannelWireFrame, isDecodeFailure, isFrameError, type NetworkEndpoint } from "@corral/actors";
import {
  SESSION_PROTOCOL_VERSION,
  emptyWatchSet,
  type ClientOp,
  type NodeMessage,
  type OpResponse,
  type WatchSet,
  type WriteOp,
} from "@corral/protocol";
import { sessionBodyCodec, type SessionBody } from "@corral/server";
import type { ClientEnv } from "../../../../test/support/sim-ensemble.js";

const frameCodec = channelFrameCodec(sessionBodyCodec);

export interface SentWrite {
  readonly seq: number;
  readonly op: WriteOp;
}

export class SessionDriver {
  readonly received: NodeMessage[] = [];
  sessionId: number | null = null;
  secret: string | null = null;
  lastZxidSeen = 0;
  nodeId: string | undefined;
  private endpoint: NetworkEndpoint | undefined;
  private channel: ReliableChannel<SessionBody> | undefined;
  private channelCount = 0;
  private nextXid = 1;
  private nextSeq = 1;
  private readonly writes = new Map<number, SentWrite>();
  private pingTimer: { id: number } | undefined;
  failed = false;

  constructor(
    readonly clientId: string,
    private readonly env: ClientEnv,
    private readonly clusterTag = "corral",
  ) {}

  async open(): Promise<void> {
    this.endpoint = await this.env.network.open(this.clientId, (from, bytes) => this.onFrame(from, bytes));
  }

  /** Open a channel to `nodeId` and send connect (new session, or resume the current one). */
  connect(nodeId: string, options: { timeoutMs?: number; watches?: WatchSet } = {}): void {
    this.channel?.close();
    this.nodeId = nodeId;
    this.failed = false;
    const channelId = `${this.clientId}-${++this.channelCount}`;
    const endpoint = this.endpoint!;
    this.channel = new ReliableChannel<SessionBody>({
      clock: this.env.clock,
      channelId,
      send: (frame) => {
        const bytes = encodeChannelWireFrame(frameCodec.encode(frame), { clusterTag: this.clusterTag });
        if (bytes instanceof Uint8Array) endpoint.send(nodeId, bytes);
      },
      onDeliver: (body) => this.onMessage(body),
      onFailure: () => {
        this.failed = true;
      },
    });
    this.channel.send({
      type: "connect",
      protocolVersion: SESSION_PROTOCOL_VERSION,
      sessionId: this.sessionId,
      secret: this.secret,
      timeoutMs: options.timeoutMs ?? 6_000,
      lastZxidSeen: this.lastZxidSeen,
      watches: options.watches ?? emptyWatchSet,
      auth: [],
    });
  }

  get connected(): boolean {
    const last = [...this.received].reverse().find((m) => m.type === "connected" || m.type === "connectFailed" || m.type === "sessionEnded");
    return last?.type === "connected" && this.received.lastIndexOf(last) >= 0 && !this.failed && this.connectedTo === this.nodeId;
  }

  private connectedTo: string | undefined;

  /** Send a client op; writes get the next seq. Returns the xid. */
  send(op: ClientOp, options: { linearizable?: boolean } = {}): number {
    const xid = this.nextXid++;
    const isWrite = op.type === "create" || op.type === "delete" || op.type === "setData" || op.type === "setACL" || op.type === "multi";
    if (isWrite) {
      const seq = this.nextSeq++;
      this.writes.set(xid, { seq, op: op as WriteOp });
      this.channel!.send({ type: "request", xid, seq, op, ...(options.linearizable === true ? { linearizable: true } : {}) });
    } else {
      this.channel!.send({ type: "request", xid, op, ...(options.linearizable === true ? { linearizable: true } : {}) });
    }
    return xid;
  }

  /** Re-send a write with its original seq (exactly-once across failover). Returns the new xid. */
  resend(originalXid: number): number {
    const write = this.writes.get(originalXid);
    if (write === undefined) throw new Error(`xid ${originalXid} was not a write`);
    const xid = this.nextXid++;
    this.writes.set(xid, write);
    this.channel!.send({ type: "request", xid, seq: write.seq, op: write.op });
    return xid;
  }

  /** Send raw bytes to a node, bypassing every codec (malformed-input tests). */
  sendRaw(nodeId: string, bytes: Uint8Array): void {
    this.endpoint!.send(nodeId, bytes);
  }

  sendBody(body: unknown): void {
    this.channel!.send(body as SessionBody);
  }

  ping(): void {
    this.channel!.send({ type: "ping" });
  }

  close(): void {
    this.channel!.send({ type: "close" });
  }

  /** Ping every `intervalMs` on the simulated clock until `stopPinging`. */
  startPinging(intervalMs: number): void {
    const tick = (): void => {
      if (this.channel?.state === "open") this.channel.send({ type: "ping" });
      this.pingTimer = this.env.clock.setTimer(intervalMs, tick);
    };
    this.pingTimer = this.env.clock.setTimer(intervalMs, tick);
  }

  stopPinging(): void {
    if (this.pingTimer !== undefined) this.env.clock.clearTimer(this.pingTimer);
    this.pingTimer = undefined;
  }

  /** Stop talking entirely (the client process "died"). */
  vanish(): void {
    this.stopPinging();
    this.channel?.close();
  }

  response(xid: number): OpResponse | undefined {
    return this.received.find((m): m is OpResponse => m.type === "response" && m.xid === xid);
  }

  events(): Extract<NodeMessage, { type: "event" }>[] {
    return this.received.filter((m): m is Extract<NodeMessage, { type: "event" }> => m.type === "event");
  }

  private onMessage(body: SessionBody): void {
    if (body.type === "connect" || body.type === "request" || body.type === "ping" || body.type === "close") return;
    this.received.push(body);
    if (body.type === "connected") {
      this.sessionId = body.sessionId;
      this.secret = body.secret;
      this.connectedTo = this.nodeId;
      this.lastZxidSeen = Math.max(this.lastZxidSeen, body.zxid);
    } else if (body.type === "response" || body.type === "event" || body.type === "pong") {
      this.lastZxidSeen = Math.max(this.lastZxidSeen, body.zxid);
    }
  }

  private onFrame(_from: string, bytes: Uint8Array): void {
    const frame = decodeFrame(bytes, { clusterTag: this.clusterTag });
    if (isFrameError(frame) || frame.k !== "r") return;
    const channelFrame = frameCodec.decode(frame.payload);
    if (isDecodeFailure(channelFrame)) return;
    if (this.channel !== undefined && channelFrame.i === this.channel.channelId) this.channel.receive(channelFrame);
  }
}
