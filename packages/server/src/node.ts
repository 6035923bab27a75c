/**
 * One Corral node: the raft, applier, sessions and tracker actors on one
 * ActorSystem, one network endpoint multiplexing actor envelopes (peers) and
 * reliable-channel traffic (clients). The same code runs in simulation
 * (SimScheduler clock, in-memory network, MemoryDurableLog) and live
 * (LiveClock, Redis Streams, FileDurableLog): everything comes from `env`.
 */
import { ActorSystem, type ActorSystemStats, type NetworkStats, type Clock, type CodecRegistry, type Executor, type Logger, type Network, type NetworkEndpoint, type Random } from "@corral/actors";
import type { DurableLog } from "@corral/consensus";
import { applierActor, type ApplierMessage } from "./applier-actor.js";
import { resolveNodeConfig, type NodeConfig } from "./config.js";
import { ActorName, newCounters, type NodeCounters, type NodeView } from "./node-view.js";
import type { RaftCoreFactory, RaftRole, RoutedMessage, StateMachineFactory } from "./ports.js";
import { raftActor, raftActorCodec, type RaftActorMessage } from "./raft-actor.js";
import { rawNodeFactory } from "./raft-core-raw-node.js";
import { sessionsActor, type SessionsMessage } from "./sessions-actor.js";
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
}

/** Build and start a node. Resolves once it has recovered from its durable log and opened its endpoint. */
export async function createNode(input: Partial<NodeConfig> & Pick<NodeConfig, "nodeId" | "peers">, env: NodeEnv): Promise<CorralNode> {
  const config = resolveNodeConfig(input);
  const logger = env.logger.child({ node: config.nodeId });
  const raftFactory = env.raft ?? (rawNodeFactory() as unknown as RaftCoreFactory<RoutedMessage>);
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
    system.shutdown();
    await handles.endpoint?.close();
  };

  const openEndpoint = await env.network.open(config.nodeId, (from, bytes) => {
    if (!stopped) system.handleFrame(from, bytes);
  });
  handles.endpoint = openEndpoint;
  system.attachEndpoint(openEndpoint);

  system.spawn<ApplierMessage>(ActorName.applier, applierActor({ config, stateMachine, view, initialIndex: view.appliedIndex }));
  handles.sessions = system.spawn<SessionsMessage>(
    ActorName.sessions,
    sessionsActor({
      config,
      clock: env.clock,
      view,
      sendFrame: (to, bytes) => openEndpoint.send(to, bytes),
      ...(env.channelLimits === undefined ? {} : { channelLimits: env.channelLimits }),
    }),
  );
  system.spawn(ActorName.tracker, trackerActor({ config, view, wallNow: () => env.clock.wallNow() }));
  const raftRef = system.spawn<RaftActorMessage<RoutedMessage>>(
    ActorName.raft,
    raftActor({ config, core, durableLog: env.durableLog, clock: env.clock, random: env.random, view, onFatal: fatal }),
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
      counters: { ...view.counters, requests: { ...view.counters.requests } },
      actors: system.stats(),
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
  };
}
