/**
 * The sessions actor: every client connection of this node, whatever carries
 * it. A connection is either a ReliableChannel over the network (Corral's
 * session protocol in Redis frames) or a *stream* (a TCP connection of the
 * ZooKeeper client port, or its simulated twin): reliable and ordered, driven
 * by `streamOpened` / `streamMessage` / `streamClosed` and answered through
 * `streamOut` (zk-connection.ts turns both directions into jute bytes).
 *
 * Per session it keeps ZooKeeper's FIFO contract: writes are forwarded to the
 * leader as they arrive (pipelined) and re-sent, as one run in seq order,
 * until this node has applied them; a read goes to the tree only once every
 * earlier request of its connection is answered or is itself a read already
 * handed over, and never below the highest zxid the connection has seen
 * (`floor`), so a session never sees the past. Responses leave in xid order.
 *
 * Stream connections carry no Corral seq: the node assigns each write the
 * session's next seq and tags it with the connection (`owner`). A stream
 * that resumes a session first claims it (ClaimSessionTxn) and opens once the
 * claim is applied here: from then on a write still in flight from an older
 * connection answers SessionMoved and consumes no seq, and the claim moved
 * the session's seq past a gap, so the old and new owner's seqs never meet.
 */
import type { Behaviour, ChannelFrame, Clock } from "@corral/actors";
import { ChannelFull, ReliableChannel, SendOutcome, channelFrameCodec, encodeChannelWireFrame, isDecodeFailure, type ReliableChannelLimits } from "@corral/actors";
import {
  BadArgumentsError,
  CorralCode,
  ErrorCode,
  KeeperState,
  Perms,
  SESSION_PROTOCOL_VERSION,
  SESSION_SECRET_BYTES,
  errorResult,
  hashSessionSecret,
  isReadOp,
  isWriteOp,
  type ConnectRequest,
  type CloseRequest,
  type CorralError,
  type ErrorCodeValue,
  type Id,
  type NodeMessage,
  type OpRequest,
  type OpResponse,
  type PingRequest,
  type RequestTxn,
  type WatchEvent,
  type WatchSet,
  type WriteResult,
} from "@corral/protocol";
import { permitted } from "@corral/tree";
import { FailureWindows, addAuthIdentity, checkProposable, connectIdentities } from "./client-input.js";
import type { NodeConfig } from "./config.js";
import type { AppliedItem, ApplierMessage, SessionsFeed } from "./applier-actor.js";
import { nodeInvariant } from "./errors.js";
import { ActorName, type NodeView } from "./node-view.js";
import type { Command, RaftActorMessage } from "./raft-actor.js";
import { isClientMessage, sessionBodyCodec, type SessionBody } from "./session-codec.js";
import type { TrackerMessage } from "./tracker-actor.js";

/**
 * What a stream connection's adapter sends: the session protocol's client
 * messages (a write's `seq` is ignored: the node assigns it) plus what only
 * ZooKeeper's protocol has.
 */
export type StreamClientMessage =
  | ConnectRequest
  | OpRequest
  | PingRequest
  | CloseRequest
  /** Re-register watches after a reconnect, firing what changed after relativeZxid. Several are additive. */
  | { readonly type: "setWatches"; readonly xid: number; readonly relativeZxid: number; readonly watches: WatchSet }
  | { readonly type: "whoAmI"; readonly xid: number };

/** Results only a stream connection asks for. */
export type StreamOnlyResult = { readonly type: "setWatches" } | { readonly type: "whoAmI"; readonly ids: readonly Id[] };
export type StreamResult = OpResponse["result"] | StreamOnlyResult;
/** What the actor tells a stream connection: the session protocol's node messages, with the stream-only results. */
export type StreamNodeMessage =
  | Exclude<NodeMessage, OpResponse>
  | { readonly type: "response"; readonly xid: number; readonly zxid: number; readonly result: StreamResult };

export type SessionsMessage =
  | SessionsFeed
  /** A stream connection opened; `remote` names its peer (an IP address) for the failed-attach bound. */
  | { readonly type: "streamOpened"; readonly stream: number; readonly remote: string }
  | { readonly type: "streamMessage"; readonly stream: number; readonly message: StreamClientMessage }
  | { readonly type: "streamClosed"; readonly stream: number }
  | { readonly type: "frame"; readonly from: string; readonly payload: unknown }
  | { readonly type: "channelFailed"; readonly key: string }
  | { readonly type: "readIndexDone"; readonly ref: number; readonly index: number }
  | { readonly type: "retry" }
  | { readonly type: "touch" }
  | { readonly type: "shutdown" };

interface Pending {
  readonly xid: number;
  readonly request: OpRequest | Extract<StreamClientMessage, { type: "setWatches" | "whoAmI" }>;
  readonly kind: "write" | "read" | "sync" | "watch" | "auth" | "setWatches" | "whoAmI";
  readonly receivedAt: number;
  dispatched: boolean;
  /** Waiting for a read index from the leader. */
  readIndexRef: number | undefined;
  response?: StreamNodeMessage;
}

type Transport = { readonly kind: "channel"; readonly channel: ReliableChannel<SessionBody> } | { readonly kind: "stream"; readonly stream: number };

/** Event keys a stream connection remembers to drop repeats when several SetWatches replay the same change. */
const MAX_REMEMBERED_EVENT_KEYS = 4_096;

interface Connection {
  readonly id: number;
  readonly key: string;
  /** Who is at the other end, for the failed-attach bound: a channel's endpoint, or "stream:" + a stream's remote address. */
  readonly endpoint: string;
  readonly transport: Transport;
  /** The node assigns write seqs and tags writes with `owner` (stream connections: ZooKeeper clients send no seq). */
  readonly nodeSeqs: boolean;
  /** This connection's owner tag: node, incarnation, connection. */
  readonly owner: string;
  state: "new" | "creating" | "attaching" | "claiming" | "open" | "closing";
  sessionId: number;
  requestedTimeoutMs: number;
  createRef: number;
  /** The secret of the session this connection is creating: only its hash is proposed; the client gets it once applied. */
  secret: string;
  /**
   * The seq a new write of this session must carry here: one past the
   * session's last applied write when the connection opened, then past the
   * highest accepted. A write beyond it (a gap: one was skipped or refused)
   * is refused, so the session's writes can never wait forever on a seq that
   * will not come (a gap would be re-proposed, committed and skipped for good).
   */
  nextSeq: number;
  auth: readonly Id[];
  lastXid: number;
  /** Highest zxid this connection has been shown: no answer may come from an older state. */
  floor: number;
  readonly queue: Pending[];
  /** Unanswered-or-unsent entries of `queue`, by xid. */
  readonly byXid: Map<number, Pending>;
  /** Requests that arrived while connect was still in progress. */
  readonly early: (OpRequest | Extract<StreamClientMessage, { type: "setWatches" | "whoAmI" }>)[];
  /** The session ended (expired or closed) while this connection served it. */
  ended: boolean;
  closingSince: number;
  /** nodeSeqs: the session's secret, to re-attach for SetWatches (never leaves this node). */
  sessionSecret: string;
  /** While claiming: what the attach answered, for the connected message once the claim is applied. */
  claim: { readonly timeoutMs: number; readonly zxid: number } | undefined;
  /** The union of this connection's SetWatches (each re-attach registers all of them: the registry replaces a session's set). */
  watchUnion: { data: Set<string>; exists: Set<string>; child: Set<string>; persistent: Set<string>; persistentRecursive: Set<string> } | undefined;
  /** The SetWatches whose re-attach is in flight. */
  setWatchesPending: Pending | undefined;
  /** Keys of events sent since the first SetWatches (bounded): a later SetWatches' replay must not repeat them. */
  readonly eventKeys: Set<string>;
}

interface TrackedWrite {
  readonly connection: Connection;
  readonly pending: Pending;
  readonly txn: RequestTxn;
}

export interface SessionsActorOptions {
  readonly config: NodeConfig;
  readonly clock: Clock;
  readonly view: NodeView;
  readonly sendFrame: (to: string, bytes: Uint8Array) => void;
  readonly channelLimits?: Partial<ReliableChannelLimits>;
  /** Random bytes for session secrets: the OS's (crypto.randomBytes) live, the seeded Random in simulation. */
  readonly entropy: (bytes: number) => Uint8Array;
  /** Where a stream connection's messages go (its adapter). Called inside the actor's turn. */
  readonly streamOut?: (stream: number, message: StreamNodeMessage) => void;
  /** Close a stream connection (the actor is done with it: refused, replaced, failed). */
  readonly streamClose?: (stream: number, reason: string) => void;
}

const frameCodec = channelFrameCodec(sessionBodyCodec);
/** Channel and stream connections live in one map under disjoint keys ("c" / "s" first). */
const channelKey = (endpoint: string, channelId: string): string => `c\u0000${endpoint}\u0000${channelId}`;
const MAX_COMMANDS_PER_FORWARD = 512;
const CLOSING_GRACE_MS = 5_000;
/** Sessions and endpoints whose failed attaches are counted at once (the oldest window is forgotten first). */
const MAX_TRACKED_ATTACH_FAILURES = 10_000;

export function sessionsActor(options: SessionsActorOptions): Behaviour<SessionsMessage> {
  const { config, clock, view } = options;
  const self = config.nodeId;
  const raft = { node: self, actor: ActorName.raft };
  const applier = { node: self, actor: ActorName.applier };
  const frameOptions = { clusterTag: config.clusterName, maxFrameBytes: config.maxFrameBytes };
  const connections = new Map<string, Connection>();
  const streams = new Map<number, Connection>();
  const claiming = new Set<Connection>();
  const byId = new Map<number, Connection>();
  const bySession = new Map<number, Connection>();
  const creating = new Map<number, Connection>();
  const writes = new Map<number, Map<number, TrackedWrite>>();
  const readIndexWaits = new Map<number, { connection: Connection; pending: Pending }>();
  const touched = new Set<number>();
  let nextConnectionId = 1;
  /**
   * The last applied index whose watch events this actor has sent. A pong may
   * tell a client no more than this: view.appliedIndex runs ahead of the
   * "applied" feed still queued here, and a client whose lastZxidSeen passed
   * an event it never got would have that event skipped on reconnect.
   */
  let deliveredIndex = 0;
  let nextRef = 1;
  /**
   * Names this incarnation in createSession origins. nextRef restarts at 1 after a crash, so a bare
   * [nodeId, ref] from before the crash, committed after the restart, would match a new client's
   * connection and hand it another client's session (both then share one session's write seqs).
   * The start time differs between incarnations of one node.
   */
  const originTag = `${self}#${clock.wallNow()}`;
  const failedAttachesBySession = new FailureWindows(config.maxFailedAttachesPerSession, config.failedAttachWindowMs, MAX_TRACKED_ATTACH_FAILURES);
  const failedAttachesByEndpoint = new FailureWindows(config.maxFailedAttachesPerEndpoint, config.failedAttachWindowMs, MAX_TRACKED_ATTACH_FAILURES);
  let sessionTokens = config.maxNewSessionsPerSecond;
  let tokensAt = clock.now();
  let tell: (to: { node: string; actor: string }, message: unknown) => void = () => undefined;
  /**
   * Hand a client's request to the applier. The applier's mailbox is bounded
   * like any other: when client traffic has filled it the request is answered
   * TooManyRequests (the client backs off), never dropped (the connection
   * would wait on it forever) and never pushed into the reserve (a client
   * could then exhaust it and stop the node). Issue 15.
   */
  let offerApplier: (message: ApplierMessage) => boolean = () => false;
  /** Connection clean-up the applier must see (bounded by the connections this actor holds): never lost. */
  let tellApplierCritical: (message: ApplierMessage) => void = () => undefined;
  let selfTell: (message: SessionsMessage) => void = () => undefined;
  let debugLog: (fields: object, message: string) => void = () => undefined;

  const publish = (): void => {
    view.connections = connections.size;
    view.sessionsHere = bySession.size;
  };

  const send = (connection: Connection, message: StreamNodeMessage): void => {
    if (message.type === "event" && connection.watchUnion !== undefined) rememberEvent(connection, message);
    const transport = connection.transport;
    if (transport.kind === "stream") {
      if (connections.has(connection.key)) options.streamOut?.(transport.stream, message);
      return;
    }
    if (transport.channel.state !== "open") return;
    // Stream-only results never reach a channel connection: only streams send setWatches / whoAmI.
    nodeInvariant(message.type !== "response" || (message.result.type !== "setWatches" && message.result.type !== "whoAmI"), "a stream-only result on a channel");
    const sent = transport.channel.send(message as NodeMessage);
    // A client that reads nothing while asking for more has used up its channel: drop it, it will reconnect.
    if (sent instanceof ChannelFull) fail(connection, "channel full");
  };

  const eventKey = (event: { readonly event: number; readonly path: string; readonly zxid: number }): string => `${event.event}\u0000${event.zxid}\u0000${event.path}`;

  const rememberEvent = (connection: Connection, event: { readonly event: number; readonly path: string; readonly zxid: number }): void => {
    if (connection.eventKeys.size >= MAX_REMEMBERED_EVENT_KEYS) connection.eventKeys.delete(connection.eventKeys.values().next().value!);
    connection.eventKeys.add(eventKey(event));
  };

  const fail = (connection: Connection, reason: string): void => {
    if (!connections.has(connection.key)) return;
    const transport = connection.transport;
    if (transport.kind === "channel") {
      const reset = encodeFrame(ReliableChannel.resetFrame(transport.channel.channelId));
      if (reset !== undefined) options.sendFrame(connection.endpoint, reset);
      transport.channel.close();
    } else {
      options.streamClose?.(transport.stream, reason);
    }
    remove(connection, reason);
  };

  const remove = (connection: Connection, reason: string): void => {
    if (!connections.delete(connection.key)) return;
    if (reason !== "closed") debugLog({ endpoint: connection.endpoint, sessionId: connection.sessionId, reason }, "client connection dropped");
    byId.delete(connection.id);
    if (connection.transport.kind === "stream") streams.delete(connection.transport.stream);
    claiming.delete(connection);
    if (connection.state === "creating") creating.delete(connection.createRef);
    if (connection.sessionId !== 0 && bySession.get(connection.sessionId) === connection) {
      bySession.delete(connection.sessionId);
      tellApplierCritical({ type: "dropWatches", sessionId: connection.sessionId });
      const tracked = writes.get(connection.sessionId);
      if (tracked !== undefined) {
        for (const [seq, write] of tracked) if (write.connection === connection) tracked.delete(seq);
        if (tracked.size === 0) writes.delete(connection.sessionId);
      }
    }
    for (const [ref, wait] of readIndexWaits) if (wait.connection === connection) readIndexWaits.delete(ref);
    tellApplierCritical({ type: "forgetConnection", conn: connection.id });
    publish();
  };

  const encodeFrame = (frame: ChannelFrame<SessionBody>): Uint8Array | undefined => {
    const bytes = encodeChannelWireFrame(frameCodec.encode(frame), frameOptions);
    return bytes instanceof Uint8Array ? bytes : undefined;
  };

  const newConnection = (id: number, key: string, endpoint: string, transport: Transport, nodeSeqs: boolean): Connection => ({
    id,
    key,
    endpoint,
    transport,
    nodeSeqs,
    owner: `${originTag}#${id}`,
    state: "new",
    sessionId: 0,
    requestedTimeoutMs: 0,
    createRef: 0,
    secret: "",
    nextSeq: 1,
    auth: [],
    lastXid: -1,
    floor: 0,
    queue: [],
    byXid: new Map(),
    early: [],
    ended: false,
    closingSince: 0,
    sessionSecret: "",
    claim: undefined,
    watchUnion: undefined,
    setWatchesPending: undefined,
    eventKeys: new Set(),
  });

  const openStream = (stream: number, remote: string): void => {
    if (streams.has(stream)) return;
    if (connections.size >= config.maxConnections) {
      view.counters.rejectedRequests++;
      options.streamClose?.(stream, "too many connections");
      return;
    }
    const id = nextConnectionId++;
    const connection = newConnection(id, `s\u0000${stream}`, `stream:${remote}`, { kind: "stream", stream }, true);
    connections.set(connection.key, connection);
    streams.set(stream, connection);
    byId.set(id, connection);
    publish();
  };

  const openConnection = (endpoint: string, channelId: string): Connection => {
    const key = channelKey(endpoint, channelId);
    const id = nextConnectionId++;
    const channel = new ReliableChannel<SessionBody>({
      clock,
      channelId,
      limits: options.channelLimits ?? {},
      send: (frame) => {
        const bytes = encodeFrame(frame);
        if (bytes === undefined) {
          view.counters.rejectedRequests++;
          return;
        }
        options.sendFrame(endpoint, bytes);
      },
      onDeliver: (body) => deliver(id, body),
      onFailure: () => selfTell({ type: "channelFailed", key }),
    });
    const connection = newConnection(id, key, endpoint, { kind: "channel", channel }, false);
    connections.set(key, connection);
    byId.set(id, connection);
    publish();
    return connection;
  };

  const connectFailed = (connection: Connection, code: ErrorCodeValue, message: string): void => {
    send(connection, { type: "connectFailed", code, message });
    connection.state = "closing";
    connection.closingSince = clock.now();
  };

  const newSecret = (): string => Buffer.from(options.entropy(SESSION_SECRET_BYTES)).toString("hex");

  const takeSessionToken = (): boolean => {
    const now = clock.now();
    sessionTokens = Math.min(config.maxNewSessionsPerSecond, sessionTokens + ((now - tokensAt) / 1000) * config.maxNewSessionsPerSecond);
    tokensAt = now;
    if (sessionTokens < 1) return false;
    sessionTokens -= 1;
    return true;
  };

  const propose = (commands: readonly Command[]): void => {
    for (let start = 0; start < commands.length; start += MAX_COMMANDS_PER_FORWARD) {
      tell(raft, { type: "propose", commands: commands.slice(start, start + MAX_COMMANDS_PER_FORWARD) } satisfies RaftActorMessage<never>);
    }
  };

  const handleConnect = (connection: Connection, connect: ConnectRequest): void => {
    if (connection.state !== "new") {
      connectFailed(connection, ErrorCode.BadArguments, "connect sent twice on one connection");
      return;
    }
    if (connect.protocolVersion !== SESSION_PROTOCOL_VERSION) {
      connectFailed(connection, ErrorCode.BadArguments, `protocol version ${connect.protocolVersion} is not ${SESSION_PROTOCOL_VERSION}`);
      return;
    }
    const auth = connectIdentities(connect.auth);
    if (!Array.isArray(auth)) {
      // AuthFailed stops the client (credentials are the same on every node); so does a credential too long to ever carry.
      view.counters.authRefused++;
      const refused = auth as Error;
      connectFailed(connection, ErrorCode.AuthFailed, `credentials refused: ${refused.cause === undefined ? refused.message : String(refused.cause)}`);
      return;
    }
    connection.auth = auth as readonly Id[];
    connection.floor = connect.lastZxidSeen;
    if (connect.sessionId === null) {
      if (!takeSessionToken()) {
        connectFailed(connection, CorralCode.TooManyRequests, "too many new sessions: retry later");
        return;
      }
      connection.state = "creating";
      connection.requestedTimeoutMs = connect.timeoutMs;
      connection.createRef = nextRef++;
      connection.secret = newSecret();
      creating.set(connection.createRef, connection);
      propose([createCommand(connection)]);
      return;
    }
    if (connect.secret === null) {
      connectFailed(connection, ErrorCode.AuthFailed, "a session id needs its secret");
      return;
    }
    // Online guessing of a secret is bounded per session and per endpoint, before the secret is even looked at.
    const now = clock.now();
    if (failedAttachesBySession.exhausted(String(connect.sessionId), now) || failedAttachesByEndpoint.exhausted(connection.endpoint, now)) {
      view.counters.attachesRateLimited++;
      connectFailed(connection, CorralCode.TooManyRequests, "too many failed attaches: retry later");
      return;
    }
    connection.state = "attaching";
    connection.sessionId = connect.sessionId;
    if (connection.nodeSeqs) connection.sessionSecret = connect.secret;
    const handed = offerApplier({
      type: "attach",
      conn: connection.id,
      sessionId: connect.sessionId,
      secret: connect.secret,
      lastZxidSeen: connect.lastZxidSeen,
      watches: connect.watches,
    });
    if (!handed) {
      connection.sessionId = 0;
      connectFailed(connection, CorralCode.TooManyRequests, "node overloaded: retry later");
    }
  };

  /**
   * May this connection see the event? Only with READ on the node it is about
   * (its ACL as it was when the change was applied; the parent's for a
   * children change): ZooKeeper's fix for CVE-2024-23944, which otherwise
   * leaks the paths of protected nodes, notably to persistent-recursive
   * watches. A one-shot watch that is not told is still used up, as there.
   */
  const visible = (connection: Connection, event: WatchEvent): boolean => {
    if (event.readAcl === undefined || permitted(event.readAcl, Perms.READ, { auth: connection.auth, superDigest: undefined })) return true;
    view.counters.watchEventsHidden++;
    return false;
  };

  const createCommand = (connection: Connection): Command => ({
    kind: "createSession",
    timeoutMs: connection.requestedTimeoutMs,
    secretHash: hashSessionSecret(connection.secret),
    origin: [originTag, connection.createRef],
  });

  const becomeOpen = (
    connection: Connection,
    sessionId: number,
    secret: string,
    timeoutMs: number,
    zxid: number,
    lastSeq: number,
    missed: readonly WatchEvent[] = [],
    watchGap = false,
  ): void => {
    const previous = bySession.get(sessionId);
    if (previous !== undefined && previous !== connection) {
      // The client moved to a new connection here: the old one is stale. Its watches now belong to the new one.
      bySession.delete(sessionId);
      previous.sessionId = 0;
      fail(previous, "replaced");
    }
    connection.state = "open";
    connection.sessionId = sessionId;
    connection.secret = "";
    if (connection.nodeSeqs) connection.sessionSecret = secret;
    connection.nextSeq = lastSeq + 1;
    connection.floor = Math.max(connection.floor, zxid);
    bySession.set(sessionId, connection);
    touched.add(sessionId);
    publish();
    send(connection, { type: "connected", sessionId, secret, timeoutMs, nodeId: self, zxid, ...(watchGap ? { watchGap } : {}) });
    // Missed watch events come before any answer on the new connection.
    for (const event of missed) {
      if (visible(connection, event)) send(connection, { type: "event", event: event.type, state: KeeperState.SyncConnected, path: event.path, zxid: event.zxid });
    }
    const early = connection.early.splice(0);
    for (const request of early) handleRequest(connection, request);
  };

  const answer = (connection: Connection, pending: Pending, zxid: number, result: StreamResult): void => {
    connection.floor = Math.max(connection.floor, zxid);
    pending.response = { type: "response", xid: pending.xid, zxid, result };
  };

  /** Send answered responses from the head, then hand over what may go now. */
  const flush = (connection: Connection): void => {
    // Dispatching may answer at once (addAuth): go round until nothing new is sendable. Bounded by the queue length.
    for (let round = 0; round <= connection.queue.length; round++) {
      flushOnce(connection);
      if (connection.queue[0]?.response === undefined) return;
    }
  };

  const flushOnce = (connection: Connection): void => {
    const queue = connection.queue;
    while (queue.length > 0 && queue[0]!.response !== undefined) {
      const done = queue.shift()!;
      connection.byXid.delete(done.xid);
      send(connection, done.response!);
      view.requestDone?.(done.request.type === "request" ? done.request.op.type : done.request.type, clock.now() - done.receivedAt);
    }
    for (let index = 0; index < queue.length; index++) {
      const pending = queue[index]!;
      if (pending.kind === "setWatches") {
        // A barrier: it re-registers the session's whole watch set, so nothing may register watches around it.
        if (pending.response !== undefined) continue;
        if (!pending.dispatched && index === 0) dispatchSetWatches(connection, pending);
        return;
      }
      if (pending.response !== undefined || pending.kind === "write") {
        if (pending.kind === "write" && pending.response === undefined) return; // later reads wait for this write
        continue;
      }
      if (pending.readIndexRef !== undefined) return; // the leader's answer sets the floor for what follows
      if (pending.dispatched) continue;
      dispatch(connection, pending);
      if (pending.readIndexRef !== undefined) return;
    }
  };

  const dispatchSetWatches = (connection: Connection, pending: Pending): void => {
    const request = pending.request;
    nodeInvariant(request.type === "setWatches", "setWatches pending without its request");
    pending.dispatched = true;
    const union = (connection.watchUnion ??= { data: new Set(), exists: new Set(), child: new Set(), persistent: new Set(), persistentRecursive: new Set() });
    for (const path of request.watches.data) union.data.add(path);
    for (const path of request.watches.exists) union.exists.add(path);
    for (const path of request.watches.child) union.child.add(path);
    for (const path of request.watches.persistent) union.persistent.add(path);
    for (const path of request.watches.persistentRecursive) union.persistentRecursive.add(path);
    connection.setWatchesPending = pending;
    const handed = offerApplier({
      type: "attach",
      conn: connection.id,
      sessionId: connection.sessionId,
      secret: connection.sessionSecret,
      // Never below what this connection has been shown: the replay starts where the client says it stopped looking.
      lastZxidSeen: request.relativeZxid,
      watches: {
        data: [...union.data],
        exists: [...union.exists],
        child: [...union.child],
        persistent: [...union.persistent],
        persistentRecursive: [...union.persistentRecursive],
      },
    });
    if (!handed) {
      connection.setWatchesPending = undefined;
      answer(connection, pending, connection.floor, errorResult(CorralCode.TooManyRequests)); // sent by the flush that dispatched it
    }
  };

  const dispatch = (connection: Connection, pending: Pending): void => {
    if (pending.request.type === "whoAmI") {
      pending.dispatched = true;
      answer(connection, pending, connection.floor, { type: "whoAmI", ids: connection.auth });
      return;
    }
    if (pending.request.type === "setWatches") return; // dispatched by flushOnce at the head only
    const op = pending.request.op;
    if (pending.kind === "auth" && op.type === "addAuth") {
      pending.dispatched = true;
      const ids = addAuthIdentity(connection.auth, op.scheme, op.credentials);
      if (!Array.isArray(ids)) {
        view.counters.authRefused++;
        answer(connection, pending, connection.floor, errorResult((ids as CorralError).code));
      } else {
        connection.auth = ids as readonly Id[];
        answer(connection, pending, connection.floor, { type: "addAuth" });
      }
      return;
    }
    if (pending.kind === "sync" || (pending.kind === "read" && pending.request.linearizable === true)) {
      const ref = nextRef++;
      pending.readIndexRef = ref;
      readIndexWaits.set(ref, { connection, pending });
      tell(raft, { type: "readIndex", ref } satisfies RaftActorMessage<never>);
      return;
    }
    handOver(connection, pending, connection.floor);
  };

  const handOver = (connection: Connection, pending: Pending, minIndex: number): void => {
    pending.dispatched = true;
    connection.floor = Math.max(connection.floor, minIndex);
    if (pending.request.type !== "request") return;
    const op = pending.request.op;
    let handed = true;
    if (op.type === "sync") {
      handed = offerApplier({ type: "wait", conn: connection.id, xid: pending.xid, minIndex: connection.floor, result: { type: "sync", path: op.path } });
    } else if (op.type === "addWatch" || op.type === "removeWatches") {
      handed = offerApplier({ type: "watchOp", conn: connection.id, xid: pending.xid, sessionId: connection.sessionId, op });
    } else if (isReadOp(op)) {
      handed = offerApplier({
        type: "read",
        conn: connection.id,
        xid: pending.xid,
        op,
        caller: { sessionId: connection.sessionId, auth: connection.auth },
        minIndex: connection.floor,
      });
    }
    if (!handed) {
      view.counters.rejectedRequests++;
      answer(connection, pending, connection.floor, errorResult(CorralCode.TooManyRequests));
    }
  };

  /** Why this write may not be proposed (a seq gap, or an entry a replica could not decode), if it may not. */
  const refuseWrite = (connection: Connection, txn: RequestTxn): CorralError | undefined => {
    if (txn.seq > connection.nextSeq) {
      return new BadArgumentsError(undefined, { cause: `write seq ${txn.seq} skips ${connection.nextSeq}: a session's writes carry consecutive seqs` });
    }
    return checkProposable(txn, config.maxEntryBytes);
  };

  const handleRequest = (connection: Connection, request: OpRequest | Extract<StreamClientMessage, { type: "setWatches" | "whoAmI" }>): void => {
    const opType = request.type === "request" ? request.op.type : request.type;
    view.counters.requests[opType] = (view.counters.requests[opType] ?? 0) + 1;
    if (request.xid <= connection.lastXid) {
      // xids must grow; an old xid is a client bug. Answer nothing for it: its slot was answered already.
      view.counters.rejectedRequests++;
      return;
    }
    connection.lastXid = request.xid;
    if (request.type !== "request") {
      const pending: Pending = { xid: request.xid, request, kind: request.type, receivedAt: clock.now(), dispatched: false, readIndexRef: undefined };
      const queueLength = connection.queue.length;
      connection.queue.push(pending);
      connection.byXid.set(pending.xid, pending);
      if (queueLength >= config.maxOutstandingPerSession) {
        view.counters.rejectedRequests++;
        pending.dispatched = true;
        answer(connection, pending, connection.floor, errorResult(CorralCode.TooManyRequests));
      }
      flush(connection);
      return;
    }
    const op = request.op;
    const kind: Pending["kind"] = isWriteOp(op) ? "write" : op.type === "sync" ? "sync" : op.type === "addAuth" ? "auth" : isReadOp(op) ? "read" : "watch";
    const pending: Pending = { xid: request.xid, request, kind, receivedAt: clock.now(), dispatched: false, readIndexRef: undefined };
    const queueLength = connection.queue.length;
    if (kind === "write") {
      if (queueLength >= 2 * config.maxOutstandingPerSession) {
        // Refusing a write would leave a hole in the session's seq order; dropping the connection does not (the client re-sends).
        view.counters.rejectedRequests++;
        fail(connection, "outstanding write bound exceeded");
        return;
      }
      connection.queue.push(pending);
      connection.byXid.set(pending.xid, pending);
      // A stream's writes carry no seq: the session's next one, tagged with this connection (the session's owner here).
      const txn: RequestTxn = connection.nodeSeqs
        ? { type: "request", sessionId: connection.sessionId, seq: connection.nextSeq, auth: connection.auth, op: op as RequestTxn["op"], owner: connection.owner }
        : { type: "request", sessionId: connection.sessionId, seq: request.seq!, auth: connection.auth, op: op as RequestTxn["op"] };
      const refused = refuseWrite(connection, txn);
      if (refused !== undefined) {
        // Answered here, never proposed: in xid order like any other answer.
        view.counters.writesRefused++;
        pending.dispatched = true;
        answer(connection, pending, connection.floor, errorResult(refused.code, refused.path));
        flush(connection);
        return;
      }
      connection.nextSeq = Math.max(connection.nextSeq, txn.seq + 1);
      let tracked = writes.get(connection.sessionId);
      if (tracked === undefined) {
        tracked = new Map();
        writes.set(connection.sessionId, tracked);
      }
      tracked.set(txn.seq, { connection, pending, txn });
      pending.dispatched = true;
      propose([{ kind: "txn", txn }]);
      return;
    }
    connection.queue.push(pending);
    connection.byXid.set(pending.xid, pending);
    if (queueLength >= config.maxOutstandingPerSession) {
      view.counters.rejectedRequests++;
      pending.dispatched = true;
      answer(connection, pending, connection.floor, errorResult(CorralCode.TooManyRequests));
    }
    flush(connection);
  };

  const deliver = (connectionId: number, body: SessionBody): void => {
    const connection = byId.get(connectionId);
    if (connection === undefined) return;
    if (!isClientMessage(body)) {
      view.counters.malformedMessages++;
      return;
    }
    receive(connection, body);
  };

  const receive = (connection: Connection, body: StreamClientMessage): void => {
    if (connection.sessionId !== 0) touched.add(connection.sessionId);
    switch (body.type) {
      case "connect":
        handleConnect(connection, body);
        return;
      case "ping":
        if (connection.state === "open") send(connection, { type: "pong", zxid: Math.max(connection.floor, deliveredIndex) });
        return;
      case "close":
        if (connection.state !== "open") return;
        propose([{ kind: "txn", txn: { type: "closeSession", sessionId: connection.sessionId, reason: "closed" } }]);
        return;
      case "request":
      case "setWatches":
      case "whoAmI":
        if (body.type !== "request" && !connection.nodeSeqs) {
          view.counters.malformedMessages++;
          return;
        }
        if (connection.state === "creating" || connection.state === "attaching" || connection.state === "claiming") {
          // Pipelined behind connect: held (bounded) and handled in order once the session is open.
          if (connection.early.length >= config.maxOutstandingPerSession) fail(connection, "too many requests before connect completed");
          else connection.early.push(body);
          return;
        }
        if (connection.state !== "open") {
          const code = connection.ended ? ErrorCode.SessionExpired : ErrorCode.ConnectionLoss;
          send(connection, { type: "response", xid: body.xid, zxid: connection.floor, result: errorResult(code) });
          return;
        }
        handleRequest(connection, body);
        return;
    }
  };

  const applyItem = (item: AppliedItem): void => {
    switch (item.kind) {
      case "event": {
        const connection = bySession.get(item.sessionId);
        if (connection !== undefined && connection.state === "open" && visible(connection, item.event)) {
          send(connection, { type: "event", event: item.event.type, state: KeeperState.SyncConnected, path: item.event.path, zxid: item.event.zxid });
        }
        return;
      }
      case "result": {
        const tracked = writes.get(item.sessionId);
        const write = tracked?.get(item.seq);
        if (tracked === undefined || write === undefined) return;
        tracked.delete(item.seq);
        if (tracked.size === 0) writes.delete(item.sessionId);
        answer(write.connection, write.pending, item.zxid, item.result as WriteResult);
        flush(write.connection);
        return;
      }
      case "sessionCreated": {
        if (item.origin === undefined || item.origin[0] !== originTag) return;
        const connection = creating.get(item.origin[1]);
        if (connection === undefined || connection.state !== "creating") return;
        creating.delete(item.origin[1]);
        becomeOpen(connection, item.sessionId, connection.secret, item.timeoutMs, item.zxid, 0);
        return;
      }
      case "sessionClosed": {
        writes.delete(item.sessionId);
        for (const connection of claiming) {
          if (connection.sessionId !== item.sessionId) continue;
          claiming.delete(connection);
          connection.sessionId = 0;
          connectFailed(connection, ErrorCode.SessionExpired, `session ${item.sessionId} has expired or was closed`);
        }
        const connection = bySession.get(item.sessionId);
        if (connection === undefined) return;
        send(connection, { type: "sessionEnded", code: item.expired ? ErrorCode.SessionExpired : ErrorCode.Ok });
        connection.ended = true;
        bySession.delete(item.sessionId);
        connection.state = "closing";
        connection.closingSince = clock.now();
        publish();
        return;
      }
    }
  };

  const claimCommand = (connection: Connection): Command => ({ kind: "txn", txn: { type: "claimSession", sessionId: connection.sessionId, owner: connection.owner } });

  /**
   * Claiming connections whose claim is applied here open; those whose session
   * is gone fail. Reads the node's tree (read-only, same event loop), which is
   * never behind the applied feed this actor has seen: once the claim shows,
   * only this connection's writes can move the session's lastSeq, and it has
   * sent none yet, so lastSeq is exactly where its seqs start.
   */
  const checkClaims = (): void => {
    for (const connection of [...claiming]) {
      const info = view.stateMachine.session(connection.sessionId);
      if (info === undefined) {
        claiming.delete(connection);
        const sessionId = connection.sessionId;
        connection.sessionId = 0;
        connectFailed(connection, ErrorCode.SessionExpired, `session ${sessionId} has expired or was closed`);
        continue;
      }
      if (info.owner !== connection.owner) continue;
      claiming.delete(connection);
      const claim = connection.claim;
      nodeInvariant(claim !== undefined, "claiming connection without its attach");
      connection.claim = undefined;
      becomeOpen(connection, connection.sessionId, connection.sessionSecret, claim.timeoutMs, claim.zxid, info.lastSeq);
    }
  };

  const setWatchesDone = (connection: Connection, message: Extract<SessionsFeed, { type: "attachResult" }>): void => {
    const pending = connection.setWatchesPending;
    if (pending === undefined) return;
    connection.setWatchesPending = undefined;
    if (!message.ok) {
      answer(connection, pending, connection.floor, errorResult(message.code));
      flush(connection);
      return;
    }
    // Missed events first (an event precedes every answer that reflects it), each once per connection.
    for (const event of message.missed) {
      if (!visible(connection, event)) continue;
      const out = { type: "event", event: event.type, state: KeeperState.SyncConnected, path: event.path, zxid: event.zxid } as const;
      if (connection.eventKeys.has(eventKey(out))) continue;
      send(connection, out);
    }
    answer(connection, pending, Math.max(connection.floor, message.zxid), { type: "setWatches" });
    flush(connection);
  };

  const handleFrame = (from: string, payload: unknown): void => {
    const frame = frameCodec.decode(payload);
    if (isDecodeFailure(frame)) {
      view.counters.malformedMessages++;
      return;
    }
    const key = channelKey(from, frame.i);
    let connection = connections.get(key);
    if (connection === undefined) {
      if (!ReliableChannel.canOpen(frame, options.channelLimits ?? {}) || connections.size >= config.maxConnections) {
        const bytes = encodeFrame(ReliableChannel.resetFrame(frame.i));
        if (bytes !== undefined && frame.t !== "x") options.sendFrame(from, bytes);
        return;
      }
      connection = openConnection(from, frame.i);
    }
    // Channel keys and stream keys differ, so a frame only ever finds a channel connection.
    if (connection.transport.kind === "channel") connection.transport.channel.receive(frame);
  };

  const retry = (): void => {
    for (const [sessionId, tracked] of writes) {
      if (!bySession.has(sessionId)) continue;
      // The whole unapplied run, in seq order: the tree applies a seq only after its predecessor.
      const run = [...tracked.values()].sort((a, b) => a.txn.seq - b.txn.seq).map((write): Command => ({ kind: "txn", txn: write.txn }));
      propose(run);
    }
    for (const connection of creating.values()) propose([createCommand(connection)]);
    for (const connection of claiming) propose([claimCommand(connection)]);
    for (const ref of readIndexWaits.keys()) tell(raft, { type: "readIndex", ref } satisfies RaftActorMessage<never>);
    const now = clock.now();
    for (const connection of [...connections.values()]) {
      if (connection.state === "closing") {
        if (connection.transport.kind === "stream") {
          // Its adapter closes it after the last message; a stream never waits for acks.
          fail(connection, "closed");
          continue;
        }
        const stats = connection.transport.channel.stats();
        if ((stats.inFlight === 0 && stats.queued === 0) || now - connection.closingSince > CLOSING_GRACE_MS) {
          connection.transport.channel.close();
          remove(connection, "closed");
        }
      }
    }
  };

  const touchIntervalMs = Math.max(config.tickMs, Math.floor(config.minSessionTimeoutMs / 3));

  return {
    started(context) {
      tell = (to, message) => {
        context.send(to, message);
      };
      offerApplier = (message) => context.offer(applier, message) === SendOutcome.sent;
      tellApplierCritical = (message) => {
        context.sendCritical(applier, message);
      };
      selfTell = (message) => {
        context.send(context.self, message);
      };
      debugLog = (fields, message) => context.logger.debug(fields, message);
      context.setTimer("retry", config.forwardRetryMs, { type: "retry" });
      context.setTimer("touch", touchIntervalMs, { type: "touch" });
    },
    receive(context, message) {
      switch (message.type) {
        case "frame":
          handleFrame(message.from, message.payload);
          return;
        case "streamOpened":
          openStream(message.stream, message.remote);
          return;
        case "streamMessage": {
          const connection = streams.get(message.stream);
          if (connection !== undefined) receive(connection, message.message);
          return;
        }
        case "streamClosed": {
          const connection = streams.get(message.stream);
          if (connection !== undefined) remove(connection, "closed");
          return;
        }
        case "channelFailed": {
          const connection = connections.get(message.key);
          if (connection !== undefined) remove(connection, "channel failed");
          return;
        }
        case "applied":
          for (const item of message.items) applyItem(item);
          deliveredIndex = Math.max(deliveredIndex, message.index);
          if (claiming.size > 0) checkClaims();
          return;
        case "answer": {
          const connection = byId.get(message.conn);
          if (connection === undefined) return;
          const pending = connection.byXid.get(message.xid);
          if (pending === undefined || pending.response !== undefined) return;
          answer(connection, pending, message.zxid, message.result);
          flush(connection);
          return;
        }
        case "attachResult": {
          const connection = byId.get(message.conn);
          if (connection === undefined) return;
          if (connection.state === "open" && connection.setWatchesPending !== undefined) {
            setWatchesDone(connection, message);
            return;
          }
          if (connection.state !== "attaching") return;
          if (!message.ok) {
            view.counters.attachesFailed++;
            const now = clock.now();
            failedAttachesByEndpoint.record(connection.endpoint, now);
            if (message.code === ErrorCode.AuthFailed) failedAttachesBySession.record(String(connection.sessionId), now);
            connection.sessionId = 0;
            connectFailed(connection, message.code, message.message);
            return;
          }
          if (connection.nodeSeqs) {
            // A stream's writes carry node-assigned seqs: take the session over first (see the header comment).
            connection.state = "claiming";
            connection.claim = { timeoutMs: message.timeoutMs, zxid: message.zxid };
            connection.floor = Math.max(connection.floor, message.zxid);
            claiming.add(connection);
            propose([claimCommand(connection)]);
            checkClaims();
            return;
          }
          becomeOpen(connection, message.sessionId, message.secret, message.timeoutMs, message.zxid, message.lastSeq, message.missed, message.watchGap);
          return;
        }
        case "readIndexDone": {
          const wait = readIndexWaits.get(message.ref);
          if (wait === undefined) return;
          readIndexWaits.delete(message.ref);
          wait.pending.readIndexRef = undefined;
          handOver(wait.connection, wait.pending, message.index);
          flush(wait.connection);
          return;
        }
        case "retry":
          context.setTimer("retry", config.forwardRetryMs, { type: "retry" });
          retry();
          return;
        case "touch": {
          context.setTimer("touch", touchIntervalMs, { type: "touch" });
          const leader = view.raft.leader;
          if (touched.size > 0 && leader !== null) {
            context.send<TrackerMessage>({ node: leader, actor: ActorName.tracker }, { type: "touch", sessionIds: [...touched] });
          }
          touched.clear();
          return;
        }
        case "shutdown":
          for (const connection of [...connections.values()]) fail(connection, "node stopping");
          return;
      }
    },
  };
}
