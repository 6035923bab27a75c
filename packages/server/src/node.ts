/**
 * One Corral node: the raft, applier, sessions and tracker actors on one
 * ActorSystem, one network endpoint multiplexing actor envelopes (peers) and
 * reliable-channel traffic (clients). The same code runs in simulation
 * (SimScheduler clock, in-memory network, MemoryDurableLog) and live
 * (LiveClock, Redis Streams, FileDurableLog): everything comes from `env`.
 *
 * Peer plane: every frame to another member is sealed (HMAC under the
 * cluster key, incarnation epoch, sequence number: @corral/actors
 * peer-auth.ts) and every sealed frame received is verified before it is
 * decoded. Only a verified frame may reach an actor; an unsealed frame may
 * only be client channel traffic for the sessions actor.
 */
import {
  ActorSystem,
  PeerAuth,
  openingFrameHandler,
  sealingEndpoint,
  type ActorSystemStats,
  type ClusterKeyring,
  type NetworkStats,
  type Clock,
  type CodecRegistry,
  type Executor,
  type Logger,
  type Network,
  type NetworkEndpoint,
  type PeerAuthStats,
  type Random,
} from "@corral/actors";
import type { DurableLog } from "@corral/consensus";
import { applierActor, type ApplierMessage } from "./applier-actor.js";
import { resolveNodeConfig, type NodeConfig } from "./config.js";
import { ActorName, newCounters, type NodeCounters, type NodeView } from "./node-view.js";
import type { RaftCoreFactory, RaftRole, RoutedMessage, StateMachineFactory } from "./ports.js";
import { raftActor, raftActorCodec, type RaftActorMessage } from "./raft-actor.js";
import { defaultRawNodeLimits, rawNodeFactory } from "./raft-core-raw-node.js";
import { osEntropy } from "./secrets.js";
import { ZOOKEEPER_COMPATIBLE_VERSION, defaultFourLetterWord } from "./zk-connection.js";
import { sessionsActor, type SessionsMessage } from "./sessions-actor.js";
import { ClientStreamRefused, ZkStreamHost, type ClientStreamHandle, type ClientStreamTransport } from "./zk-streams.js";
import { trackerActor, trackerCodec } from "./tracker-actor.js";
import { treeStateMachineFactory } from "./tree-state-machine.js";
import type { ReliableChannelLimits } from "@corral/actors";

export interface NodeEnv {
  readonly clock: Clock;
  readonly random: Random;
  readonly network: Network;
  readonly logger: Logger;
  /** Runs actor turns: the SimScheduler's `schedule` in simulation, `liveExecutor` live. */
  readonly executor: Executor;
  readonly durableLog: DurableLog;
  /** Defaults: the consensus package's RawNode and the tree package's DataTree. */
  readonly raft?: RaftCoreFactory<RoutedMessage>;
  readonly stateMachine?: StateMachineFactory;
  readonly channelLimits?: Partial<ReliableChannelLimits>;
  /**
   * Random bytes for session secrets. Default: the OS's (crypto.randomBytes).
   * Simulation passes bytes from its seeded Random (`entropyFromRandom`), so
   * a run still replays from its seed; never do that live.
   */
  readonly entropy?: (bytes: number) => Uint8Array;
  /**
   * The peer plane's keys and this process's incarnation epoch (1..2^32-1,
   * greater than every earlier run of this node: persisted live, given by
   * the harness in simulation). `replayWindow`: seqs remembered per peer.
   */
  readonly peerAuth: { readonly keyring: ClusterKeyring; readonly epoch: number; readonly replayWindow?: number };
  /** Called once if the node stops itself (storage failure, broken invariant). */
  readonly onFatal?: (error: unknown) => void;
}

export interface PeerStatus {
  readonly id: string;
  readonly matchIndex: number | null;
  /** Leader only: entries the peer is behind the leader's last index. */
  readonly lag: number | null;
}

export interface NodeStatus {
  readonly id: string;
  readonly role: RaftRole | "stopped";
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly peers: readonly PeerStatus[];
  readonly sessions: number;
  readonly sessionsHere: number;
  readonly connections: number;
  readonly watches: number;
  readonly digest: string;
  readonly counters: NodeCounters;
  /** Frames and messages dropped or handled by the node's actor system (malformed, spoofed, mailbox overflow ...). */
  readonly actors: ActorSystemStats;
  /** The peer plane: frames sealed and verified, and sealed frames refused by reason (bad MAC, replay ...). */
  readonly peerAuth: PeerAuthStats & { readonly epoch: number; readonly signingKeyId: string };
  readonly endpoint: NetworkStats | null;
}

export interface CorralNode {
  readonly id: string;
  readonly config: NodeConfig;
  status(): NodeStatus;
  /** Ask the core to hand leadership to the most caught-up peer (or `to`). */
  transferLeadership(to?: string): void;
  /** Stop at once (a crash as far as peers and clients can tell); durable state is what the log synced. */
  stop(): Promise<void>;
  /** Graceful: refuse clients, hand leadership over (waits up to `timeoutMs`), then stop. */
  shutdown(options?: { readonly timeoutMs?: number }): Promise<void>;
  readonly stopped: boolean;
  /** Observe every answered client request (op type, ms from arrival to response). One listener. */
  onRequestDone(listener: (op: string, durationMs: number) => void): void;
  /** Replace the cluster keys (a rotation step; the first signs, all verify). */
  setClusterKeys(keyring: ClusterKeyring): void;
  /**
   * A client byte stream speaking ZooKeeper's wire protocol (the client
   * port's TCP connections, or the simulated stream): the node answers
   * through the transport. Refused (and closed) beyond clientMaxConnections
   * or once the node has stopped.
   */
  acceptClientStream(transport: ClientStreamTransport): ClientStreamHandle | ClientStreamRefused;
}

/** Build and start a node. Resolves once it has recovered from its durable log and opened its endpoint. */
export async function createNode(input: Partial<NodeConfig> & Pick<NodeConfig, "nodeId" | "peers">, env: NodeEnv): Promise<CorralNode> {
  const config = resolveNodeConfig(input);
  const logger = env.logger.child({ node: config.nodeId });
  // The core refuses entries larger than maxBytesPerAppend: it must take every entry the node lets through (config.maxEntryBytes).
  const raftFactory = env.raft ?? (rawNodeFactory({ maxBytesPerAppend: Math.max(defaultRawNodeLimits.maxBytesPerAppend, config.maxEntryBytes) }) as unknown as RaftCoreFactory<RoutedMessage>);
  const stateMachine = (env.stateMachine ?? treeStateMachineFactory()).create();

  const recovered = await env.durableLog.load();
  if (recovered.snapshot !== null) stateMachine.restore(recovered.snapshot.data);
  const core = raftFactory.create({
    id: config.nodeId,
    peers: config.peers,
    recovered,
    random: env.random.fork("raft"),
    logger: logger.child({ actor: "raft-core" }),
    electionTicks: config.electionTicks,
    heartbeatTicks: config.heartbeatTicks,
  });

  const view: NodeView = {
    raft: core.status(),
    appliedIndex: recovered.snapshot?.meta.index ?? 0,
    stateMachine,
    connections: 0,
    sessionsHere: 0,
    counters: newCounters(),
    requestDone: undefined,
  };

  const codecs = new Map<string, unknown>([
    [ActorName.raft, raftActorCodec(raftFactory.codec)],
    [ActorName.tracker, trackerCodec],
  ]);
  let stopped = false;
  // Filled in below; the closures that read them run only after start.
  const handles: { endpoint?: NetworkEndpoint; sessions?: { tell(message: SessionsMessage): boolean } } = {};

  const system = new ActorSystem({
    nodeId: config.nodeId,
    clock: env.clock,
    random: env.random.fork("actors"),
    logger,
    executor: env.executor,
    codecs: codecs as CodecRegistry,
    clusterTag: config.clusterName,
    maxFrameBytes: config.maxFrameBytes,
    onChannelFrame: (from, payload) => {
      handles.sessions?.tell({ type: "frame", from, payload });
    },
    // A mailbox whose reserve is used up (a self-send, timer or critical feed could not be queued) stops the node cleanly.
    onFatal: (error) => fatal(error),
  });

  const fatal = (error: unknown): void => {
    if (stopped) return;
    logger.fatal({ error: error instanceof Error ? error.message : String(error) }, "node stopping after a fatal error");
    void stop();
    env.onFatal?.(error);
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    streamHost.closeAll("node stopping");
    system.shutdown();
    await handles.endpoint?.close();
  };

  const peerAuth = new PeerAuth({
    self: config.nodeId,
    cluster: config.clusterName,
    members: config.peers,
    keyring: env.peerAuth.keyring,
    epoch: env.peerAuth.epoch,
    ...(env.peerAuth.replayWindow === undefined ? {} : { replayWindow: env.peerAuth.replayWindow }),
  });
  let rejectionsLogged = 0;
  const receive = openingFrameHandler(
    peerAuth,
    (from, bytes, authenticated) => {
      if (!stopped) system.handleFrame(from, bytes, authenticated);
    },
    (from, rejection) => {
      // Counted in status; logged sparingly (an attacker must not be able to flood the log).
      if (++rejectionsLogged === 1 || rejectionsLogged % 1000 === 0) {
        const reason = rejection === "unsealedFromMember" ? rejection : rejection.reason;
        logger.warn({ from, reason, claimed: rejection === "unsealedFromMember" ? undefined : rejection.sender, rejections: rejectionsLogged }, "dropped a peer frame that failed authentication");
      }
    },
  );
  const rawEndpoint = await env.network.open(config.nodeId, (from, bytes) => {
    if (!stopped) receive(from, bytes);
  });
  const openEndpoint = sealingEndpoint(rawEndpoint, peerAuth);
  handles.endpoint = openEndpoint;
  system.attachEndpoint(openEndpoint);

  const streamHost = new ZkStreamHost({
    clock: env.clock,
    limits: {
      maxStreams: config.clientMaxConnections,
      connectTimeoutMs: config.clientConnectTimeoutMs,
      idleTimeoutMs: config.clientIdleTimeoutMs,
      maxOutstandingRequests: config.clientMaxOutstandingPerConnection,
      pauseAtOutstanding: Math.max(1, Math.floor(config.clientMaxOutstandingPerConnection / 2)),
      maxBufferedOutputBytes: config.clientMaxBufferedOutputBytes,
      maxPacketBytes: config.clientMaxPacketBytes,
    },
    tellSessions: (message) => !stopped && (handles.sessions?.tell(message) ?? false),
    fourLetterWord: (word) => fourLetterWord(word, status()),
    onClose: (_stream, reason) => {
      view.counters.clientStreamsClosed[reason.code] = (view.counters.clientStreamsClosed[reason.code] ?? 0) + 1;
    },
  });

  system.spawn<ApplierMessage>(ActorName.applier, applierActor({ config, stateMachine, view, initialIndex: view.appliedIndex }));
  handles.sessions = system.spawn<SessionsMessage>(
    ActorName.sessions,
    sessionsActor({
      config,
      clock: env.clock,
      view,
      sendFrame: (to, bytes) => openEndpoint.send(to, bytes),
      ...(env.channelLimits === undefined ? {} : { channelLimits: env.channelLimits }),
      entropy: env.entropy ?? osEntropy,
      streamOut: (stream, message) => streamHost.deliver(stream, message),
      streamClose: (stream, reason) => streamHost.closeFromNode(stream, reason),
    }),
  );
  system.spawn(ActorName.tracker, trackerActor({ config, view, wallNow: () => env.clock.wallNow() }));
  const raftRef = system.spawn<RaftActorMessage<RoutedMessage>>(
    ActorName.raft,
    raftActor({
      config,
      core,
      durableLog: env.durableLog,
      clock: env.clock,
      random: env.random,
      view,
      onFatal: fatal,
      // Read-index contexts carry this process's incarnation: a late reply to a previous incarnation's ref is dropped.
      incarnation: env.peerAuth.epoch,
      ...(raftFactory.checkBounds === undefined ? {} : { checkBounds: raftFactory.checkBounds }),
    }),
  );

  const status = (): NodeStatus => {
    const raft = view.raft;
    const peers = config.peers
      .filter((peer) => peer !== config.nodeId)
      .map((peer): PeerStatus => {
        const match = raft.matchIndex[peer];
        return match === undefined ? { id: peer, matchIndex: null, lag: null } : { id: peer, matchIndex: match, lag: Math.max(0, raft.lastIndex - match) };
      });
    return {
      id: config.nodeId,
      role: stopped ? "stopped" : raft.role,
      term: raft.term,
      leader: raft.leader,
      commitIndex: raft.commitIndex,
      appliedIndex: view.appliedIndex,
      lastIndex: raft.lastIndex,
      peers,
      sessions: stateMachine.sessionCount(),
      sessionsHere: view.sessionsHere,
      connections: view.connections,
      watches: stateMachine.watchCount(),
      digest: stateMachine.digest(),
      counters: { ...view.counters, requests: { ...view.counters.requests }, clientStreamsClosed: { ...view.counters.clientStreamsClosed } },
      actors: system.stats(),
      peerAuth: { ...peerAuth.stats(), epoch: peerAuth.epoch, signingKeyId: peerAuth.signingKeyId },
      endpoint: handles.endpoint?.stats() ?? null,
    };
  };

  return {
    id: config.nodeId,
    config,
    status,
    transferLeadership(to?: string) {
      raftRef.tell(to === undefined ? { type: "transferLeadership" } : { type: "transferLeadership", to });
    },
    stop,
    async shutdown(options = {}) {
      if (stopped) return;
      handles.sessions?.tell({ type: "shutdown" });
      if (view.raft.role === "leader" && config.peers.length > 1) {
        raftRef.tell({ type: "transferLeadership" });
        const deadline = env.clock.now() + (options.timeoutMs ?? 2_000);
        await new Promise<void>((resolve) => {
          const poll = (): void => {
            if (view.raft.role !== "leader" || env.clock.now() >= deadline || stopped) resolve();
            else env.clock.setTimer(config.tickMs, poll);
          };
          poll();
        });
      }
      await stop();
      await env.durableLog.close();
    },
    get stopped() {
      return stopped;
    },
    onRequestDone(listener) {
      view.requestDone = listener;
    },
    setClusterKeys(keyring) {
      peerAuth.setKeyring(keyring);
    },
    acceptClientStream(transport) {
      if (stopped) {
        transport.close();
        return new ClientStreamRefused(0);
      }
      const handle = streamHost.accept(transport);
      if (handle instanceof ClientStreamRefused) view.counters.clientStreamsRefused++;
      return handle;
    },
  };
}

/**
 * ZooKeeper's four-letter words on the client port: ruok, and srvr / stat as
 * a short summary (no client list); the rest are refused as ZooKeeper
 * refuses words outside its whitelist.
 */
function fourLetterWord(word: string, status: NodeStatus): string {
  if (word === "ruok") return "imok";
  if (word === "srvr" || word === "stat") {
    const mode = status.role === "leader" ? (status.peers.length === 0 ? "standalone" : "leader") : "follower";
    return [
      `Zookeeper version: ${ZOOKEEPER_COMPATIBLE_VERSION}-corral, built on 1970-01-01 00:00 UTC (Corral)`,
      `Connections: ${status.connections}`,
      `Zxid: 0x${status.appliedIndex.toString(16)}`,
      `Mode: ${mode}`,
      `Node id: ${status.id}`,
      "",
    ].join("\n");
  }
  return defaultFourLetterWord(word);
}
