/**
 * A hostile client for the security tests: speaks the session protocol by
 * hand over a ReliableChannel, with none of the client library's checks. It
 * sends whatever connect (any session id, secret, credentials) and requests
 * (any xid, seq and op) a test asks for, and records everything it receives.
 */
import { ReliableChannel, channelFrameCodec, decodeFrame, encodeChannelWireFrame, isDecodeFailure, isFrameError, type NetworkEndpoint } from "@corral/actors";
import { SESSION_PROTOCOL_VERSION, emptyWatchSet, type ClientOp, type NodeMessage, type OpResponse } from "@corral/protocol";
import { sessionBodyCodec, type SessionBody } from "@corral/server";
import type { ClientEnv } from "../support/sim-ensemble.js";

const frameCodec = channelFrameCodec(sessionBodyCodec);

export interface RawConnect {
  readonly sessionId?: number | null;
  readonly secret?: string | null;
  readonly auth?: readonly { readonly scheme: string; readonly credentials: string }[];
}

export class RawSession {
  readonly received: NodeMessage[] = [];
  sessionId: number | null = null;
  secret: string | null = null;
  private endpoint: NetworkEndpoint | undefined;
  private channel: ReliableChannel<SessionBody> | undefined;
  private channels = 0;
  private nextXid = 1;
  private nextSeq = 1;
  private nodeId: string | undefined;

  constructor(
    readonly clientId: string,
    private readonly env: ClientEnv,
    private readonly clusterTag = "corral",
  ) {}

  async open(): Promise<void> {
    this.endpoint = await this.env.network.open(this.clientId, (_from, bytes) => this.onFrame(bytes));
  }

  /** A new channel to `nodeId` and a connect on it: a new session, or an attach with any id and secret. */
  connect(nodeId: string, connect: RawConnect = {}): void {
    this.channel?.close();
    this.nodeId = nodeId;
    const endpoint = this.endpoint!;
    this.channel = new ReliableChannel<SessionBody>({
      clock: this.env.clock,
      channelId: `${this.clientId}-${++this.channels}`,
      send: (frame) => {
        const bytes = encodeChannelWireFrame(frameCodec.encode(frame), { clusterTag: this.clusterTag });
        if (bytes instanceof Uint8Array) endpoint.send(nodeId, bytes);
      },
      onDeliver: (body) => this.onMessage(body),
      onFailure: () => undefined,
    });
    this.channel.send({
      type: "connect",
      protocolVersion: SESSION_PROTOCOL_VERSION,
      sessionId: connect.sessionId ?? null,
      secret: connect.secret ?? null,
      timeoutMs: 6_000,
      lastZxidSeen: 0,
      watches: emptyWatchSet,
      auth: connect.auth ?? [],
    });
  }

  /** The newest connect outcome on any channel. */
  outcome(): Extract<NodeMessage, { type: "connected" | "connectFailed" }> | undefined {
    return [...this.received].reverse().find((m): m is Extract<NodeMessage, { type: "connected" | "connectFailed" }> => m.type === "connected" || m.type === "connectFailed");
  }

  get connected(): boolean {
    return this.outcome()?.type === "connected" && this.nodeId !== undefined;
  }

  /** A request; a write gets `seq` (default: the next one). Returns the xid. */
  send(op: ClientOp, seq?: number): number {
    const xid = this.nextXid++;
    const isWrite = op.type === "create" || op.type === "delete" || op.type === "setData" || op.type === "setACL" || op.type === "multi";
    if (isWrite) this.channel!.send({ type: "request", xid, seq: seq ?? this.nextSeq++, op });
    else this.channel!.send({ type: "request", xid, op });
    return xid;
  }

  response(xid: number): OpResponse | undefined {
    return this.received.find((m): m is OpResponse => m.type === "response" && m.xid === xid);
  }

  /** Stop talking (the channel closes without a close request). */
  vanish(): void {
    this.channel?.close();
  }

  private onMessage(body: SessionBody): void {
    if (body.type === "connect" || body.type === "request" || body.type === "ping" || body.type === "close") return;
    this.received.push(body);
    if (body.type === "connected") {
      this.sessionId = body.sessionId;
      this.secret = body.secret;
    }
  }

  private onFrame(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes, { clusterTag: this.clusterTag });
    if (isFrameError(frame) || frame.k !== "r") return;
    const channelFrame = frameCodec.decode(frame.payload);
    if (isDecodeFailure(channelFrame)) return;
    if (this.channel !== undefined && channelFrame.i === this.channel.channelId) this.channel.receive(channelFrame);
  }
}
