/**
 * CorralClient: one session with a Corral ensemble (DESIGN.md §8).
 *
 * One network endpoint for the client's life; one ReliableChannel per
 * connection to a node. A connection that goes silent (no message for 2/3 of
 * the session timeout), fails, or times out its handshake is dropped and the
 * client fails over to the next node with jittered backoff, presenting its
 * session id, secret, the highest zxid it has seen and its watch set. Every
 * unanswered request is then re-sent on the new connection in its original
 * order; writes keep their session write seq, so the replicated exactly-once
 * table applies each at most once and answers re-sends with the first result.
 *
 * A request that times out is rejected with OperationTimeoutError. A write's
 * outcome is then unknown to the caller, and the client keeps re-sending it
 * on failover: a later write cannot apply before it (the node applies a
 * session's writes in seq order), so dropping it would wedge the session.
 *
 * Everything non-deterministic comes from the injected env (clock, random,
 * network): a simulated run replays from its seed.
 */
import type { Clock, Logger, NetworkEndpoint, Random, TimerHandle } from "@corral/actors";
import { ReliableChannel, channelFrameCodec, decodeFrame, encodeChannelWireFrame, isDecodeFailure, isFrameError, nullLogger } from "@corral/actors";
import type { ChannelFrame } from "@corral/actors";
import {
  AddWatchMode,
  BadArgumentsError,
  ConnectionLossError,
  CreateMode,
  ErrorCode,
  LimitExceededError,
  OPEN_ACL_UNSAFE,
  OperationTimeoutError,
  SESSION_PROTOCOL_VERSION,
  SessionExpiredError,
  TooManyRequestsError,
  WatcherType,
  errorFromCode,
  isSequentialMode,
  isTtlMode,
  isWriteOp,
  multiFailure,
  validatePath,
  type ACL,
  type ClientOp,
  type CorralError,
  type MultiOpResult,
  type MultiSubOp,
  type NodeMessage,
  type OpResponse,
  type Stat,
} from "@corral/protocol";
import type {
  Client,
  ConnectionState,
  CreateOptions,
  CreateResponse,
  EventStream,
  MultiBuilder,
  MultiResult,
  ReadOptions,
  StateChange,
  WatchedEvent,
  Watcher,
  WatchOptions,
} from "./api.js";
import { decodeUtf8, toBytes } from "./data.js";
import { BoundedEventStream } from "./event-stream.js";
import { resolveClientOptions, type ClientEnv, type ClientOptions, type ResolvedClientOptions } from "./options.js";
import { isNodeMessage, sessionBodyCodec, type SessionBody } from "./session-codec.js";
import type { ByteStream, StreamConnector } from "./stream.js";
import { WireProtocolError, ZkWireClient } from "./zk-wire.js";
import type { RetryEnv } from "./retry.js";
import { WatchRegistry, type OneShotKind } from "./watches.js";

const frameCodec = channelFrameCodec(sessionBodyCodec);
const ID_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";

/** A multi that failed: the failing op's typed error, with its index and every op's result. */
export type MultiOpError = CorralError & { readonly opIndex: number; readonly results: readonly MultiOpResult[] };

/** Why a client refused a call after close() (the cause of the SessionExpiredError it rejects with). */
export class ClientClosed extends Error {
  readonly _tag = "ClientClosed" as const;
  readonly code = "CLIENT_CLOSED" as const;
  constructor() {
    super("the client was closed");
    this.name = "ClientClosed";
  }
}

/** Counters for tests and diagnostics. */
export interface ClientStats {
  framesDropped: number;
  connectAttempts: number;
  failovers: number;
  requestsSent: number;
  requestsResent: number;
  duplicateEventsDropped: number;
  eventsDelivered: number;
  /** Reconnects whose node said persistent-watch events may be missing (connected.watchGap). */
  watchGaps: number;
}

interface PendingRequest {
  readonly xid: number;
  readonly seq: number | undefined;
  readonly op: ClientOp;
  readonly linearizable: boolean;
  /** The path the caller named (client side of the chroot), for errors. */
  readonly path: string | undefined;
  readonly complete: (response: OpResponse) => void;
  readonly fail: (error: CorralError) => void;
  timer: TimerHandle | undefined;
  /** The caller gave up (timeout); a write is still re-sent to keep the session's seq order contiguous. */
  abandoned: boolean;
}

/**
 * How one connection carries session messages: a ReliableChannel over the
 * frame network (Redis Streams; Corral's session protocol, exactly-once
 * re-send), or a byte stream speaking ZooKeeper's wire protocol (TCP).
 */
interface ConnectionTransport {
  readonly kind: "channel" | "stream";
  /** The channel, for the channel kind (frames from the network are fed to it). */
  readonly channel: ReliableChannel<SessionBody> | undefined;
  send(message: SessionBody): true | { readonly _tag: string };
  close(): void;
}

interface Connection {
  readonly nodeId: string;
  readonly transport: ConnectionTransport;
  phase: "handshake" | "open";
  attemptTimer: TimerHandle | undefined;
}

/** Extra, internal construction options. */
export interface ClientInternals {
  /** The endpoint id ("c-..."); derived from the env's Random when absent. */
  readonly clientId?: string;
  /** Called once the client is closed or expired and its endpoint released (the live connect closes its network here). */
  readonly onReleased?: () => Promise<void>;
}

export class CorralClient implements Client {
  private readonly options: ResolvedClientOptions;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly retryRandom: Random;
  private readonly logger: Logger;
  readonly clientId: string;
  private endpoint: NetworkEndpoint | undefined;
  /** Set when the client speaks ZooKeeper's wire protocol over byte streams (env.streams) instead of the frame network. */
  private readonly streams: StreamConnector | undefined;

  private currentState: ConnectionState = "connecting";
  private currentSessionId: number | null = null;
  private secret: string | null = null;
  private negotiatedTimeoutMs: number;
  private lastZxidSeen = 0;
  private connection: Connection | undefined;
  private channelCounter = 0;
  private nodeCursor: number;
  private attemptsSinceConnected = 0;
  private lastHeardAt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;
  private nextXid = 1;
  private nextWriteSeq = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly auth: { scheme: string; credentials: string }[];
  private readonly watches: WatchRegistry;
  private readonly watchStreams = new Set<BoundedEventStream<WatchedEvent>>();
  private readonly stateListeners = new Set<(change: StateChange) => void>();
  private readonly stateStreams = new Set<BoundedEventStream<StateChange>>();
  /** zxid of the last event delivered, and the (type, path) keys delivered at it: the dedupe window. */
  private lastEventZxid = -1;
  private readonly eventKeysAtLastZxid = new Set<string>();
  private closing: { resolve: () => void; timer: TimerHandle } | undefined;
  private closePromise: Promise<void> | undefined;
  private firstConnect: { resolve: () => void; reject: (error: CorralError) => void; timer: TimerHandle } | undefined;
  private released = false;
  private readonly internals: ClientInternals;
  private readonly counters: ClientStats = {
    framesDropped: 0,
    connectAttempts: 0,
    failovers: 0,
    requestsSent: 0,
    requestsResent: 0,
    duplicateEventsDropped: 0,
    eventsDelivered: 0,
    watchGaps: 0,
  };

  private constructor(env: ClientEnv, options: ResolvedClientOptions, internals: ClientInternals) {
    this.options = options;
    this.clock = env.clock;
    this.random = env.random;
    this.retryRandom = env.random.fork("retry");
    this.internals = internals;
    this.streams = env.streams;
    this.clientId = internals.clientId ?? `c-${randomToken(this.random, 21)}`;
    this.logger = (env.logger ?? nullLogger).child({ component: "corral-client", client: this.clientId });
    this.negotiatedTimeoutMs = options.sessionTimeoutMs;
    this.nodeCursor = this.random.int(options.nodes.length);
    this.auth = options.auth.map((credentials) => ({ scheme: "digest", credentials }));
    this.watches = new WatchRegistry(options.maxWatchers);
  }

  /**
   * Open an endpoint on `env.network` and establish a new session. Resolves
   * once connected; rejects with ConnectionLossError if no node accepted
   * within `connectTimeoutMs`, or with the node's typed refusal (AuthFailed ...).
   */
  static async connectWith(env: ClientEnv, options: ClientOptions, internals: ClientInternals = {}): Promise<CorralClient> {
    const client = new CorralClient(env, resolveClientOptions(options), internals);
    if (env.streams === undefined) {
      if (env.network === undefined) throw new BadArgumentsError(undefined, { cause: "the client needs env.network (frames) or env.streams (ZooKeeper wire)" });
      client.endpoint = await env.network.open(client.clientId, client.onFrame);
    }
    await client.start();
    return client;
  }

  // --------------------------------------------------------------- state --

  get sessionId(): number | null {
    return this.currentSessionId;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The node this client is connected to, if connected. */
  get nodeId(): string | undefined {
    return this.connection?.phase === "open" ? this.connection.nodeId : undefined;
  }

  /** The highest zxid this client has seen (responses, events, pongs). */
  get lastZxid(): number {
    return this.lastZxidSeen;
  }

  /** The negotiated session timeout (the requested one until connected). */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  stats(): ClientStats {
    return { ...this.counters };
  }

  /** The clock and a jitter source for `withRetry` (the injected ones: simulated in tests). */
  retryEnv(): RetryEnv {
    return { clock: this.clock, random: this.retryRandom };
  }

  on(_event: "state", listener: (change: StateChange) => void): () => void {
    this.stateListeners.add(listener);
    return () => {
      this.stateListeners.delete(listener);
    };
  }

  states(): EventStream<StateChange> {
    const stream: BoundedEventStream<StateChange> = new BoundedEventStream<StateChange>(this.options.maxBufferedEvents, () => this.stateStreams.delete(stream), "states");
    if (this.isTerminal()) stream.end();
    else this.stateStreams.add(stream);
    return stream;
  }

  private isTerminal(): boolean {
    return this.currentState === "expired" || this.currentState === "closed";
  }

  private setState(state: ConnectionState, watchGap = false): void {
    if (this.currentState === state) return;
    this.currentState = state;
    const change: StateChange = {
      state,
      ...(state === "connected" && this.connection !== undefined ? { nodeId: this.connection.nodeId } : {}),
      ...(this.currentSessionId !== null ? { sessionId: this.currentSessionId } : {}),
      ...(watchGap ? { watchGap: true as const } : {}),
    };
    this.logger.info({ state, nodeId: change.nodeId, sessionId: change.sessionId }, "connection state");
    for (const listener of [...this.stateListeners]) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: describe(error) }, "state listener threw");
      }
    }
    for (const stream of [...this.stateStreams]) stream.push(change);
    if (state === "closed") for (const stream of [...this.stateStreams]) stream.end();
  }

  // ---------------------------------------------------------- connecting --

  private start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimer(this.options.connectTimeoutMs, () => {
        if (this.firstConnect === undefined) return;
        this.firstConnect = undefined;
        const error = new ConnectionLossError(undefined, { cause: `no node accepted a session within ${this.options.connectTimeoutMs} ms` });
        this.terminate("closed", () => error);
        reject(error);
      });
      this.firstConnect = { resolve, reject, timer };
      this.attempt();
    });
  }

  private attempt(): void {
    this.reconnectTimer = undefined;
    if (this.isTerminal() || this.closing !== undefined) return;
    if (this.streams === undefined && this.endpoint === undefined) return;
    const nodes = this.options.nodes;
    const nodeId = nodes[this.nodeCursor % nodes.length]!;
    this.nodeCursor = (this.nodeCursor + 1) % nodes.length;
    this.counters.connectAttempts++;
    this.attemptsSinceConnected++;
    // eslint-disable-next-line prefer-const
    let connection: Connection;
    const transport = this.streams !== undefined ? this.streamTransport(nodeId, () => connection) : this.channelTransport(nodeId, () => connection);
    connection = { nodeId, transport, phase: "handshake", attemptTimer: undefined };
    this.connection = connection;
    connection.attemptTimer = this.clock.setTimer(this.options.connectAttemptTimeoutMs, () => {
      connection.attemptTimer = undefined;
      if (this.connection === connection && connection.phase === "handshake") this.connectionLost(`no answer from ${nodeId}`);
    });
    this.lastHeardAt = this.clock.now();
    this.sendOn(connection, {
      type: "connect",
      protocolVersion: SESSION_PROTOCOL_VERSION,
      sessionId: this.currentSessionId,
      secret: this.secret,
      timeoutMs: this.options.sessionTimeoutMs,
      lastZxidSeen: this.lastZxidSeen,
      watches: this.watches.watchSet(),
      auth: this.auth,
    });
  }

  /** A ReliableChannel over the frame network (Corral's session protocol). */
  private channelTransport(nodeId: string, current: () => Connection): ConnectionTransport {
    const endpoint = this.endpoint!;
    const channelId = `${++this.channelCounter}.${randomToken(this.random, 8)}`;
    const peerSilentMs = Math.max(100, Math.floor((2 * this.negotiatedTimeoutMs) / 3));
    const frameOptions = { clusterTag: this.options.cluster, maxFrameBytes: this.options.maxFrameBytes };
    const channel = new ReliableChannel<SessionBody>({
      clock: this.clock,
      channelId,
      limits: {
        // Room for every outstanding request to be re-sent at once, plus pings and close.
        maxQueued: this.options.maxOutstandingRequests + 16,
        peerSilentMs,
        heartbeatIntervalMs: Math.max(10, Math.min(1_000, Math.floor(peerSilentMs / 4))),
      },
      send: (frame: ChannelFrame<SessionBody>) => {
        const bytes = encodeChannelWireFrame(frameCodec.encode(frame), frameOptions);
        if (bytes instanceof Uint8Array) endpoint.send(nodeId, bytes);
        else this.counters.framesDropped++;
      },
      onDeliver: (body) => this.onMessage(current(), body),
      onFailure: (failure) => {
        if (this.connection === current()) this.connectionLost(`channel failed: ${failure._tag}`);
      },
    });
    return { kind: "channel", channel, send: (message) => channel.send(message), close: () => channel.close() };
  }

  /** A byte stream speaking ZooKeeper's wire protocol (TCP live, in memory in simulation). */
  private streamTransport(nodeId: string, current: () => Connection): ConnectionTransport {
    const wire = new ZkWireClient({ server: nodeId, maxInFlight: this.options.maxOutstandingRequests * 2 + 16 });
    // Assigned below, before any handler can run: connectors report data and closes asynchronously.
    // eslint-disable-next-line prefer-const
    let stream: ByteStream;
    const transport: ConnectionTransport = {
      kind: "stream",
      channel: undefined,
      send: (message) => {
        const packets = wire.encode(message as Parameters<ZkWireClient["encode"]>[0]);
        if (packets instanceof WireProtocolError) return packets;
        for (const packet of packets) {
          if (!stream.write(packet)) return { _tag: "StreamClosed" };
        }
        return true;
      },
      close: () => stream.close(),
    };
    stream = this.streams!.connect(nodeId, {
      onData: (chunk) => {
        const connection = current();
        if (this.connection !== connection) return;
        const messages = wire.receive(chunk);
        if (messages instanceof WireProtocolError) {
          this.counters.framesDropped++;
          this.connectionLost(messages.message);
          return;
        }
        for (const message of messages) {
          if (this.connection !== connection) return;
          this.onMessage(connection, message);
        }
      },
      onClose: (reason) => {
        if (this.connection === current()) this.connectionLost(`connection to ${nodeId} closed: ${reason}`);
      },
    });
    return transport;
  }

  /** Drop the current connection and try the next node after a backoff. */
  private connectionLost(reason: string): void {
    const connection = this.connection;
    if (connection === undefined) return;
    this.dropConnection(connection);
    this.logger.warn({ nodeId: connection.nodeId, reason }, "connection lost");
    if (connection.transport.kind === "stream") this.failInFlight(connection, reason);
    if (this.closing !== undefined) {
      this.finishClose();
      return;
    }
    if (connection.phase === "open") {
      this.counters.failovers++;
      this.setState("disconnected");
    }
    this.scheduleAttempt();
  }

  /**
   * ZooKeeper's contract on its wire: what was in flight on a lost connection
   * may or may not have happened, and the caller learns ConnectionLoss (the
   * Java client fails its pending and outgoing queues alike). Re-sending a
   * write there could apply it twice: only Corral's session protocol dedupes.
   */
  private failInFlight(connection: Connection, reason: string): void {
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const request of failed) {
      if (request.timer !== undefined) this.clock.clearTimer(request.timer);
      request.timer = undefined;
      if (!request.abandoned) request.fail(new ConnectionLossError(request.path, { cause: `connection to ${connection.nodeId} lost: ${reason}` }));
    }
  }

  private dropConnection(connection: Connection): void {
    if (connection.attemptTimer !== undefined) this.clock.clearTimer(connection.attemptTimer);
    connection.attemptTimer = undefined;
    connection.transport.close();
    if (this.connection === connection) this.connection = undefined;
    if (this.pingTimer !== undefined) this.clock.clearTimer(this.pingTimer);
    this.pingTimer = undefined;
  }

  private scheduleAttempt(): void {
    if (this.isTerminal() || this.reconnectTimer !== undefined) return;
    const { baseMs, maxMs, attemptsPerRound } = this.options.reconnectBackoff;
    const round = Math.floor(this.attemptsSinceConnected / attemptsPerRound);
    const capMs = Math.min(maxMs, baseMs * 2 ** Math.min(round, 30));
    // Equal jitter: never in lockstep with other clients, never a zero wait after a full round.
    const delayMs = Math.floor(capMs / 2) + this.random.int(Math.floor(capMs / 2) + 1);
    this.reconnectTimer = this.clock.setTimer(delayMs, () => this.attempt());
  }

  private onFrame = (from: string, bytes: Uint8Array): void => {
    const frame = decodeFrame(bytes, { clusterTag: this.options.cluster, maxFrameBytes: this.options.maxFrameBytes });
    if (isFrameError(frame) || frame.k !== "r") {
      this.counters.framesDropped++;
      return;
    }
    const channelFrame = frameCodec.decode(frame.payload);
    if (isDecodeFailure(channelFrame)) {
      this.counters.framesDropped++;
      return;
    }
    const connection = this.connection;
    // Traffic of an abandoned connection (a late answer from the old node) is ignored: its requests were re-sent.
    const channel = connection?.transport.channel;
    if (connection === undefined || channel === undefined || from !== connection.nodeId || channelFrame.i !== channel.channelId) return;
    channel.receive(channelFrame);
  };

  private onMessage(connection: Connection, body: SessionBody): void {
    if (this.connection !== connection) return;
    if (!isNodeMessage(body)) {
      this.counters.framesDropped++;
      return;
    }
    this.lastHeardAt = this.clock.now();
    switch (body.type) {
      case "connected":
        this.onConnected(connection, body);
        return;
      case "connectFailed":
        this.onConnectFailed(body);
        return;
      case "response":
        this.seeZxid(body.zxid);
        this.onResponse(body);
        return;
      case "event":
        this.seeZxid(body.zxid);
        this.onEvent(body);
        return;
      case "pong":
        this.seeZxid(body.zxid);
        return;
      case "sessionEnded":
        if (body.code === ErrorCode.Ok && this.closing !== undefined) this.finishClose();
        else this.terminate("expired", (path) => new SessionExpiredError(path));
        return;
    }
  }

  private seeZxid(zxid: number): void {
    if (zxid > this.lastZxidSeen) this.lastZxidSeen = zxid;
  }

  private onConnected(connection: Connection, message: Extract<NodeMessage, { type: "connected" }>): void {
    if (connection.phase !== "handshake") return;
    if (this.currentSessionId !== null && message.sessionId !== this.currentSessionId) {
      // A node answering with another session would mix two sessions' state: refuse it and try elsewhere.
      this.connectionLost(`node answered with session ${message.sessionId}, expected ${this.currentSessionId}`);
      return;
    }
    if (connection.attemptTimer !== undefined) this.clock.clearTimer(connection.attemptTimer);
    connection.attemptTimer = undefined;
    connection.phase = "open";
    const resuming = this.currentSessionId !== null;
    this.currentSessionId = message.sessionId;
    this.secret = message.secret;
    this.negotiatedTimeoutMs = message.timeoutMs;
    // On a resume the events missed since lastZxidSeen follow this message: counting its zxid as seen now
    // would, if the connection dropped before they arrived, make the next node skip them (a one-shot watch
    // then never fires though its node changed). Every later message carries the zxid again, after them.
    // A new session has nothing to miss, and needs the zxid so a lagging node does not call it unknown.
    if (!resuming) this.seeZxid(message.zxid);
    this.attemptsSinceConnected = 0;
    // Re-send every unanswered request in its original order; writes keep their seq.
    for (const request of this.pending.values()) {
      if (this.connection !== connection) return;
      this.transmit(connection, request, true);
    }
    this.armPing(connection);
    if (message.watchGap === true) this.counters.watchGaps++;
    this.setState("connected", message.watchGap === true);
    const first = this.firstConnect;
    if (first !== undefined) {
      this.firstConnect = undefined;
      this.clock.clearTimer(first.timer);
      first.resolve();
    }
  }

  private onConnectFailed(message: Extract<NodeMessage, { type: "connectFailed" }>): void {
    if (message.code === ErrorCode.SessionExpired || message.code === ErrorCode.UnknownSession) {
      this.terminate("expired", (path) => new SessionExpiredError(path, { cause: message.message }));
      return;
    }
    if (message.code === ErrorCode.AuthFailed) {
      // Other nodes check credentials alike: retrying would loop. Fail loudly.
      this.terminate("closed", (path) => errorFromCode(message.code, path, { cause: message.message }));
      return;
    }
    this.connectionLost(`connect refused: ${message.message}`);
  }

  private armPing(connection: Connection): void {
    const intervalMs = Math.max(10, Math.floor(this.negotiatedTimeoutMs / 3));
    const silentLimitMs = Math.floor((2 * this.negotiatedTimeoutMs) / 3);
    this.pingTimer = this.clock.setTimer(intervalMs, () => {
      this.pingTimer = undefined;
      if (this.connection !== connection || connection.phase !== "open") return;
      if (this.clock.now() - this.lastHeardAt >= silentLimitMs) {
        this.connectionLost(`node silent for ${this.clock.now() - this.lastHeardAt} ms`);
        return;
      }
      this.sendOn(connection, { type: "ping" });
      if (this.connection === connection) this.armPing(connection);
    });
  }

  private sendOn(connection: Connection, message: SessionBody): boolean {
    const sent = connection.transport.send(message);
    if (sent === true) return true;
    this.connectionLost(`channel refused a message: ${sent._tag}`);
    return false;
  }

  // ------------------------------------------------------------ requests --

  private transmit(connection: Connection, request: PendingRequest, resend: boolean): void {
    if (resend) this.counters.requestsResent++;
    else this.counters.requestsSent++;
    this.sendOn(connection, {
      type: "request",
      xid: request.xid,
      op: request.op,
      ...(request.seq !== undefined ? { seq: request.seq } : {}),
      ...(request.linearizable ? { linearizable: true } : {}),
    });
  }

  /** Refuse a call before anything is sent, if the client cannot take it. */
  private refusal(path: string | undefined): CorralError | undefined {
    if (this.closing !== undefined || this.currentState === "closed") return new SessionExpiredError(path, { cause: new ClientClosed() });
    if (this.currentState === "expired") return new SessionExpiredError(path);
    if (this.pending.size >= this.options.maxOutstandingRequests) {
      return new TooManyRequestsError(path, { cause: `${this.options.maxOutstandingRequests} requests outstanding (maxOutstandingRequests)` });
    }
    return undefined;
  }

  private submit<T>(op: ClientOp, path: string | undefined, decode: (response: OpResponse) => T | CorralError, options: ReadOptions = {}): Promise<T> {
    const refused = this.refusal(path);
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<T>((resolve, reject) => {
      const xid = this.nextXid++;
      const request: PendingRequest = {
        xid,
        seq: isWriteOp(op) ? this.nextWriteSeq++ : undefined,
        op,
        linearizable: options.linearizable === true,
        path,
        complete: (response) => {
          let value: T | CorralError;
          try {
            value = decode(response);
          } catch (error) {
            value = new ConnectionLossError(path, { cause: error });
          }
          if (value instanceof Error) reject(value);
          else resolve(value);
        },
        fail: reject,
        timer: undefined,
        abandoned: false,
      };
      request.timer = this.clock.setTimer(this.options.requestTimeoutMs, () => this.onRequestTimeout(request));
      this.pending.set(xid, request);
      const connection = this.connection;
      if (connection !== undefined && connection.phase === "open") this.transmit(connection, request, false);
    });
  }

  private onRequestTimeout(request: PendingRequest): void {
    request.timer = undefined;
    if (request.abandoned || !this.pending.has(request.xid)) return;
    request.abandoned = true;
    // Only Corral's session protocol re-sends a write after a failover; on ZooKeeper's wire it simply fails.
    const write = request.seq !== undefined && this.streams === undefined;
    // A write stays queued (re-sent on failover) so the session's later writes are not stuck behind a hole.
    if (!write) this.pending.delete(request.xid);
    request.fail(
      new OperationTimeoutError(request.path, {
        cause: write
          ? `no answer within ${this.options.requestTimeoutMs} ms; the write may or may not be applied (it is still being delivered)`
          : `no answer within ${this.options.requestTimeoutMs} ms`,
      }),
    );
  }

  private onResponse(response: OpResponse): void {
    const request = this.pending.get(response.xid);
    if (request === undefined) return;
    this.pending.delete(response.xid);
    if (request.timer !== undefined) this.clock.clearTimer(request.timer);
    request.timer = undefined;
    if (request.abandoned) return;
    request.complete(response);
  }

  // -------------------------------------------------------------- events --

  private onEvent(message: Extract<NodeMessage, { type: "event" }>): void {
    // Events arrive in zxid order, also across a reconnect; anything older than the last one delivered, or
    // the same (type, path) at the same zxid, is a re-delivery.
    const key = `${message.event}\u0000${message.path}`;
    // A byte stream delivers each event once, in order: two events of one type on one path in one
    // transaction are both real (a multi that creates and deletes a child). Only re-sends over frames are deduped.
    const deduped = this.streams === undefined;
    if (deduped && message.zxid < this.lastEventZxid || (message.zxid === this.lastEventZxid && this.eventKeysAtLastZxid.has(key))) {
      this.counters.duplicateEventsDropped++;
      return;
    }
    if (message.zxid > this.lastEventZxid) {
      this.lastEventZxid = message.zxid;
      this.eventKeysAtLastZxid.clear();
    }
    this.eventKeysAtLastZxid.add(key);
    const path = this.fromServerPath(message.path);
    const watchers = this.watches.take(message.event, message.path);
    if (path === undefined) return;
    const event: WatchedEvent = { type: message.event, path, zxid: message.zxid };
    this.counters.eventsDelivered++;
    for (const watcher of watchers) this.callWatcher(watcher, event);
  }

  private callWatcher(watcher: Watcher, event: WatchedEvent): void {
    try {
      watcher(event);
    } catch (error) {
      this.logger.error({ err: describe(error), path: event.path }, "watcher threw");
    }
  }

  // --------------------------------------------------------------- paths --

  private toServerPath(path: string, sequential = false): string | BadArgumentsError {
    if (typeof path !== "string") return new BadArgumentsError(String(path), { cause: "path must be a string" });
    const invalid = validatePath(path, { sequential });
    if (invalid !== undefined) return invalid;
    const chroot = this.options.chroot;
    if (chroot === "") return path;
    return path === "/" ? chroot : chroot + path;
  }

  private fromServerPath(path: string): string | undefined {
    const chroot = this.options.chroot;
    if (chroot === "") return path;
    if (path === chroot) return "/";
    if (path.startsWith(`${chroot}/`)) return path.slice(chroot.length);
    return undefined;
  }

  private errorFor(response: OpResponse, path: string | undefined): CorralError | undefined {
    const result = response.result;
    if (result.type !== "error") return undefined;
    const errorPath = result.path !== undefined ? (this.fromServerPath(result.path) ?? result.path) : path;
    return errorFromCode(result.code, errorPath);
  }

  private unexpected(response: OpResponse, path: string | undefined): CorralError {
    return new ConnectionLossError(path, { cause: `unexpected result type ${response.result.type}` });
  }

  // ---------------------------------------------------------- operations --

  create(path: string, data?: Uint8Array | string, options: CreateOptions = {}): Promise<CreateResponse> {
    const mode = options.mode ?? CreateMode.Persistent;
    const serverPath = this.toServerPath(path, isSequentialMode(mode));
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    const ttl = checkTtl(mode, options.ttlMs, path);
    if (ttl instanceof Error) return Promise.reject(ttl);
    const op: ClientOp = { type: "create", path: serverPath, data: toBytes(data), acl: options.acl ?? OPEN_ACL_UNSAFE, mode, ...(ttl !== undefined ? { ttlMs: ttl } : {}) };
    return this.submit(op, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "create") return this.unexpected(response, path);
      return { path: this.fromServerPath(response.result.path) ?? response.result.path, stat: response.result.stat };
    });
  }

  getData(path: string, options: WatchOptions = {}): Promise<{ data: Uint8Array; stat: Stat }> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    const refused = this.watchRefusal(path, options.watch);
    if (refused !== undefined) return Promise.reject(refused);
    return this.submit({ type: "getData", path: serverPath, watch: options.watch !== undefined }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "getData") return this.unexpected(response, path);
      if (options.watch !== undefined) this.watches.addOneShot("data", serverPath, options.watch);
      return { data: response.result.data, stat: response.result.stat };
    }, options);
  }

  /** getData, decoded as UTF-8. */
  async getString(path: string, options: WatchOptions = {}): Promise<{ data: string; stat: Stat }> {
    const { data, stat } = await this.getData(path, options);
    return { data: decodeUtf8(data), stat };
  }

  exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    const refused = this.watchRefusal(path, options.watch);
    if (refused !== undefined) return Promise.reject(refused);
    return this.submit({ type: "exists", path: serverPath, watch: options.watch !== undefined }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "exists") return this.unexpected(response, path);
      const stat = response.result.stat;
      // As ZooKeeper: a watch on an existing node is a data watch, on a missing one an exists watch.
      if (options.watch !== undefined) this.watches.addOneShot(stat === null ? "exists" : "data", serverPath, options.watch);
      return stat;
    }, options);
  }

  getChildren(path: string, options: WatchOptions = {}): Promise<{ children: string[]; stat: Stat }> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    const refused = this.watchRefusal(path, options.watch);
    if (refused !== undefined) return Promise.reject(refused);
    return this.submit({ type: "getChildren", path: serverPath, watch: options.watch !== undefined }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "getChildren") return this.unexpected(response, path);
      if (options.watch !== undefined) this.watches.addOneShot("child" satisfies OneShotKind, serverPath, options.watch);
      return { children: [...response.result.children], stat: response.result.stat };
    }, options);
  }

  getAllChildrenNumber(path: string): Promise<number> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    return this.submit({ type: "getAllChildrenNumber", path: serverPath }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "getAllChildrenNumber") return this.unexpected(response, path);
      return response.result.count;
    });
  }

  getEphemerals(prefix = "/"): Promise<string[]> {
    if (typeof prefix !== "string" || !prefix.startsWith("/")) return Promise.reject(new BadArgumentsError(String(prefix), { cause: "prefix must start with /" }));
    const chroot = this.options.chroot;
    const serverPrefix = chroot === "" ? prefix : prefix === "/" ? `${chroot}/` : chroot + prefix;
    return this.submit({ type: "getEphemerals", prefix: serverPrefix }, prefix, (response) => {
      const error = this.errorFor(response, prefix);
      if (error !== undefined) return error;
      if (response.result.type !== "getEphemerals") return this.unexpected(response, prefix);
      const out: string[] = [];
      for (const path of response.result.paths) {
        const local = this.fromServerPath(path);
        if (local !== undefined) out.push(local);
      }
      return out;
    });
  }

  setData(path: string, data: Uint8Array | string, version = -1): Promise<Stat> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    return this.submit({ type: "setData", path: serverPath, data: toBytes(data), version }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "setData") return this.unexpected(response, path);
      return response.result.stat;
    });
  }

  delete(path: string, version = -1): Promise<void> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    return this.submit({ type: "delete", path: serverPath, version }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "delete") return this.unexpected(response, path);
      return undefined;
    });
  }

  multi(): MultiBuilder {
    const ops: MultiSubOp[] = [];
    const paths: string[] = [];
    let invalid: CorralError | undefined;
    const add = (op: MultiSubOp | CorralError, path: string): void => {
      if (op instanceof Error) invalid ??= op;
      else {
        ops.push(op);
        paths.push(path);
      }
    };
    const builder: MultiBuilder = {
      check: (path, version) => {
        const serverPath = this.toServerPath(path);
        add(serverPath instanceof Error ? serverPath : { type: "check", path: serverPath, version }, path);
        return builder;
      },
      create: (path, data, options = {}) => {
        const mode = options.mode ?? CreateMode.Persistent;
        const serverPath = this.toServerPath(path, isSequentialMode(mode));
        const ttl = checkTtl(mode, options.ttlMs, path);
        if (serverPath instanceof Error) add(serverPath, path);
        else if (ttl instanceof Error) add(ttl, path);
        else add({ type: "create", path: serverPath, data: toBytes(data), acl: options.acl ?? OPEN_ACL_UNSAFE, mode, ...(ttl !== undefined ? { ttlMs: ttl } : {}) }, path);
        return builder;
      },
      delete: (path, version = -1) => {
        const serverPath = this.toServerPath(path);
        add(serverPath instanceof Error ? serverPath : { type: "delete", path: serverPath, version }, path);
        return builder;
      },
      setData: (path, data, version = -1) => {
        const serverPath = this.toServerPath(path);
        add(serverPath instanceof Error ? serverPath : { type: "setData", path: serverPath, data: toBytes(data), version }, path);
        return builder;
      },
      commit: () => {
        if (invalid !== undefined) return Promise.reject(invalid);
        if (ops.length === 0) return Promise.resolve([]);
        return this.submit({ type: "multi", ops: [...ops] }, paths[0], (response) => {
          const error = this.errorFor(response, paths[0]);
          if (error !== undefined) return error;
          const result = response.result;
          if (result.type !== "multi") return this.unexpected(response, paths[0]);
          const failure = multiFailure(result);
          if (failure !== undefined) {
            const failedPath = paths[failure.index];
            const typed = errorFromCode(failure.error.code, failedPath);
            return Object.assign(typed, { opIndex: failure.index, results: result.results }) satisfies MultiOpError;
          }
          return result.results.map((entry) => (entry.type === "create" ? { ...entry, path: this.fromServerPath(entry.path) ?? entry.path } : entry)) as MultiResult;
        });
      },
    };
    return builder;
  }

  sync(path = "/"): Promise<void> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    return this.submit({ type: "sync", path: serverPath }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      return undefined;
    });
  }

  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    return this.submit({ type: "getACL", path: serverPath }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "getACL") return this.unexpected(response, path);
      return { acl: [...response.result.acl], stat: response.result.stat };
    });
  }

  setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    return this.submit({ type: "setACL", path: serverPath, acl, version }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      if (response.result.type !== "setACL") return this.unexpected(response, path);
      return response.result.stat;
    });
  }

  addAuth(scheme: "digest", credentials: string): Promise<void> {
    if (scheme !== "digest" || typeof credentials !== "string" || credentials.indexOf(":") <= 0 || credentials.length > 1024) {
      return Promise.reject(new BadArgumentsError(undefined, { cause: "addAuth takes digest credentials \"user:password\"" }));
    }
    if (this.auth.length >= 16) return Promise.reject(new LimitExceededError(undefined, { cause: "at most 16 credentials per session" }));
    return this.submit({ type: "addAuth", scheme, credentials }, undefined, (response) => {
      const error = this.errorFor(response, undefined);
      if (error !== undefined) return error;
      // Presented again on every reconnect.
      this.auth.push({ scheme, credentials });
      return undefined;
    });
  }

  // ------------------------------------------------------------- watches --

  private watchRefusal(path: string, watcher: Watcher | undefined): CorralError | undefined {
    if (watcher === undefined) return undefined;
    if (typeof watcher !== "function") return new BadArgumentsError(path, { cause: "watch must be a function" });
    if (!this.watches.hasRoom()) return new LimitExceededError(path, { cause: `${this.options.maxWatchers} watchers registered (maxWatchers)` });
    return undefined;
  }

  addWatch(path: string, mode: AddWatchMode, watcher: Watcher): Promise<void> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) return Promise.reject(serverPath);
    if (mode !== AddWatchMode.Persistent && mode !== AddWatchMode.PersistentRecursive) return Promise.reject(new BadArgumentsError(path, { cause: "mode must be an AddWatchMode" }));
    const refused = this.watchRefusal(path, watcher);
    if (refused !== undefined) return Promise.reject(refused);
    return this.submit({ type: "addWatch", path: serverPath, mode }, path, (response) => {
      const error = this.errorFor(response, path);
      if (error !== undefined) return error;
      this.watches.addPersistent(mode, serverPath, watcher);
      return undefined;
    });
  }

  async watchStream(path: string, mode: AddWatchMode): Promise<EventStream<WatchedEvent>> {
    const watcher: Watcher = (event) => {
      stream.push(event);
    };
    const stream: BoundedEventStream<WatchedEvent> = new BoundedEventStream<WatchedEvent>(this.options.maxBufferedEvents, () => {
      this.watchStreams.delete(stream);
      const serverPath = this.toServerPath(path);
      if (serverPath instanceof Error) return;
      const { emptied } = this.watches.remove(serverPath, WatcherType.Any, watcher);
      if ((emptied.includes("persistent") || emptied.includes("recursive")) && !this.isTerminal() && this.closing === undefined) {
        // Best effort: the node forgets the watch; if that fails the client still ignores its events.
        this.removeOnServer(serverPath, path, WatcherType.Any).catch(() => undefined);
      }
    }, path);
    await this.addWatch(path, mode, watcher);
    this.watchStreams.add(stream);
    return stream;
  }

  async removeWatches(path: string, type: WatcherType, watcher?: Watcher): Promise<void> {
    const serverPath = this.toServerPath(path);
    if (serverPath instanceof Error) throw serverPath;
    if (type !== WatcherType.Children && type !== WatcherType.Data && type !== WatcherType.Any) throw new BadArgumentsError(path, { cause: "type must be a WatcherType" });
    const refused = this.refusal(path);
    if (refused !== undefined) throw refused;
    const { removed } = this.watches.remove(serverPath, type, watcher);
    if (removed.length === 0) throw errorFromCode(ErrorCode.NoWatcher, path);
    const remaining = this.watches.watchSet();
    const stillWatched = (list: readonly string[]): boolean => list.includes(serverPath);
    const dataLeft = stillWatched(remaining.data) || stillWatched(remaining.exists);
    const childLeft = stillWatched(remaining.child);
    const persistentLeft = stillWatched(remaining.persistent) || stillWatched(remaining.persistentRecursive);
    const serverType =
      type === WatcherType.Children ? (childLeft ? undefined : WatcherType.Children)
      : type === WatcherType.Data ? (dataLeft ? undefined : WatcherType.Data)
      : !dataLeft && !childLeft && !persistentLeft ? WatcherType.Any
      : undefined;
    for (const entry of removed) this.callWatcher(entry.watcher, { type: entry.type, path, zxid: this.lastZxidSeen });
    if (serverType !== undefined) await this.removeOnServer(serverPath, path, serverType);
  }

  private removeOnServer(serverPath: string, path: string, type: WatcherType): Promise<void> {
    return this.submit({ type: "removeWatches", path: serverPath, watcherType: type }, path, (response) => {
      const result = response.result;
      // The node may have fired and dropped the watch already: nothing left to remove is success here.
      if (result.type === "error" && result.code !== ErrorCode.NoWatcher) return errorFromCode(result.code, path);
      return undefined;
    });
  }

  // --------------------------------------------------------------- close --

  /**
   * Close the session: the node deletes its ephemerals and confirms. Waits at
   * most `closeTimeoutMs` for the confirmation (if the client is not
   * connected, the session is left to expire on the ensemble). Idempotent.
   */
  close(): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => {
      if (this.currentState === "closed" || this.currentState === "expired") {
        this.terminate("closed", (path) => new SessionExpiredError(path, { cause: new ClientClosed() }));
        this.release().then(resolve, resolve);
        return;
      }
      const timer = this.clock.setTimer(this.options.closeTimeoutMs, () => this.finishClose());
      this.closing = { resolve: () => this.release().then(resolve, resolve), timer };
      const connection = this.connection;
      if (connection !== undefined && connection.phase === "open") {
        this.sendOn(connection, { type: "close" });
      } else {
        this.finishClose();
      }
    });
    return this.closePromise;
  }

  private finishClose(): void {
    const closing = this.closing;
    if (closing === undefined) return;
    this.closing = undefined;
    this.clock.clearTimer(closing.timer);
    this.terminate("closed", (path) => new ConnectionLossError(path, { cause: new ClientClosed() }));
    closing.resolve();
  }

  /** Enter a terminal state: fail everything pending, stop every timer, end every stream. */
  private terminate(state: "expired" | "closed", error: (path: string | undefined) => CorralError): void {
    if (this.currentState === "closed") return;
    if (this.connection !== undefined) this.dropConnection(this.connection);
    if (this.reconnectTimer !== undefined) this.clock.clearTimer(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const requests = [...this.pending.values()];
    this.pending.clear();
    for (const request of requests) {
      if (request.timer !== undefined) this.clock.clearTimer(request.timer);
      if (!request.abandoned) request.fail(error(request.path));
    }
    this.watches.clear();
    for (const stream of [...this.watchStreams]) stream.end(error(undefined));
    this.watchStreams.clear();
    const first = this.firstConnect;
    if (first !== undefined) {
      this.firstConnect = undefined;
      this.clock.clearTimer(first.timer);
      first.reject(error(undefined));
    }
    this.setState(state);
    if (state === "expired") {
      this.logger.warn({ sessionId: this.currentSessionId }, "session expired: every pending and future call fails with SessionExpired; create a new client");
    }
    if (this.closing === undefined) void this.release();
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    await endpoint?.close();
    await this.internals.onReleased?.();
  }
}

function checkTtl(mode: CreateMode, ttlMs: number | undefined, path: string): number | undefined | BadArgumentsError {
  if (isTtlMode(mode)) {
    if (ttlMs === undefined || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) return new BadArgumentsError(path, { cause: "a TTL mode needs ttlMs > 0" });
    return ttlMs;
  }
  if (ttlMs !== undefined) return new BadArgumentsError(path, { cause: "ttlMs is only for the TTL modes" });
  return undefined;
}

function randomToken(random: Random, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ID_ALPHABET[random.int(ID_ALPHABET.length)];
  return out;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Open a client in an injected environment (simulation, tests, or a network you built). */
export function connectWith(env: ClientEnv, options: ClientOptions, internals: ClientInternals = {}): Promise<CorralClient> {
  return CorralClient.connectWith(env, options, internals);
}
