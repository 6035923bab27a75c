/**
 * The whole-system simulator's ensemble: N real nodes (createNode) and M real
 * clients on one SimScheduler, with every fault the issue asks for, all from
 * one seed:
 *  - network: InMemoryNetwork under a FaultyNetwork (loss, duplication,
 *    reordering, delay, partitions, one-way blocks), under an "epoch" layer
 *    that models a Redis restart (every frame in flight is lost, and nothing
 *    gets through while Redis is down);
 *  - disks: MemoryDurableLog with delayed fsync, so a crash loses unsynced
 *    writes (optionally leaving a torn tail);
 *  - processes: pause (a SIGSTOP: timers, actor turns and inbound frames are
 *    held, the clock keeps running) and per-owner clock drift.
 *
 * It differs from test/support/sim-ensemble.ts (the server engineer's harness
 * for targeted tests) by the pause/drift/fsync/Redis-restart controls and the
 * observation hooks the checkers need.
 */
import {
  FaultyNetwork,
  InMemoryNetwork,
  SeededRandom,
  SimScheduler,
  isSealedPeerFrame,
  nullLogger,
  simulationKeyring,
  type Clock,
  type ClusterKeyring,
  type EndpointId,
  type FaultCommand,
  type FrameHandler,
  type Logger,
  type Network,
  type NetworkEndpoint,
  type Random,
} from "@corral/actors";
import { MemoryDurableLog, type DurableBatch, type DurableLog, type RecoveredState, type Snapshot } from "@corral/consensus";
import { createNode, entropyFromRandom, treeStateMachineFactory, type CorralNode, type NodeConfig, type StateMachineFactory } from "@corral/server";

/** Sealed peer frames remembered for the adversary (the most recent ones, across incarnations). */
const MAX_RECORDED_PEER_FRAMES = 512;

/** Work a paused owner holds back; bounded so a runaway pause is a harness failure, not an OOM. */
const MAX_DEFERRED_PER_OWNER = 200_000;

/** One process's run/pause switch: timers, actor turns and inbound frames go through it. */
class PauseGate {
  paused = false;
  private deferred: (() => void)[] = [];
  constructor(private readonly sim: SimScheduler, readonly owner: string) {}

  run(fn: () => void): void {
    if (!this.paused) {
      fn();
      return;
    }
    if (this.deferred.length >= MAX_DEFERRED_PER_OWNER) throw new Error(`sim harness: ${this.owner} deferred more than ${MAX_DEFERRED_PER_OWNER} tasks while paused`);
    this.deferred.push(fn);
  }

  resume(): void {
    this.paused = false;
    const work = this.deferred;
    this.deferred = [];
    for (const fn of work) this.sim.schedule(() => this.run(fn));
  }

  /** A crash: held work dies with the process. */
  reset(): void {
    this.paused = false;
    this.deferred = [];
  }
}

/**
 * Redis as the transport: a restart loses every frame in flight, and frames
 * sent while it is down are lost. Frames carry the epoch they were sent in
 * (4 bytes in front, stripped on receipt); a frame from an older epoch is dropped.
 */
class EpochNetwork {
  epoch = 0;
  downUntilMs = -1;
  framesLost = 0;
  constructor(private readonly inner: Network, private readonly sim: SimScheduler) {}

  restartRedis(downMs: number): void {
    this.epoch++;
    this.downUntilMs = this.sim.now() + downMs;
  }

  async open(id: EndpointId, onFrame: FrameHandler, gate: PauseGate): Promise<NetworkEndpoint> {
    const inner = await this.inner.open(id, (from, frame) => {
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      if (frame.byteLength < 4 || view.getUint32(0) !== this.epoch) {
        this.framesLost++;
        return;
      }
      const payload = frame.subarray(4);
      gate.run(() => onFrame(from, payload));
    });
    return {
      id: inner.id,
      send: (to, frame) => {
        if (this.sim.now() < this.downUntilMs) {
          this.framesLost++;
          return;
        }
        const stamped = new Uint8Array(frame.byteLength + 4);
        new DataView(stamped.buffer).setUint32(0, this.epoch);
        stamped.set(frame, 4);
        inner.send(to, stamped);
      },
      stats: () => inner.stats(),
      close: () => inner.close(),
    };
  }
}

/** A durable log whose writes become durable `fsyncDelayMs` after they are issued (a crash before loses them). */
class DelayedSyncLog implements DurableLog {
  constructor(
    readonly memory: MemoryDurableLog,
    private readonly sim: SimScheduler,
    private readonly label: string,
    private readonly fsyncDelayMs: () => number,
  ) {}
  private sync<T>(promise: Promise<T>): Promise<T> {
    this.sim.after(this.fsyncDelayMs(), this.label, () => this.memory.syncAll());
    return promise;
  }
  load(): Promise<RecoveredState> {
    return this.memory.load();
  }
  save(batch: DurableBatch): Promise<void> {
    return this.sync(this.memory.save(batch));
  }
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.sync(this.memory.saveSnapshot(snapshot));
  }
  compact(index: number): Promise<void> {
    return this.sync(this.memory.compact(index));
  }
  close(): Promise<void> {
    return this.memory.close();
  }
}

export interface SystemEnsembleOptions {
  readonly seed: number;
  readonly nodes: 3 | 5;
  readonly config?: Partial<Omit<NodeConfig, "nodeId" | "peers">>;
  /** Clock rate error per owner (node id or client label), parts per million. */
  readonly driftPpm?: (owner: string) => number;
  /** Upper bound of the simulated fsync latency (0 = durable at once). */
  readonly fsyncDelayMsMax?: number;
  /** Wraps each node's state machine factory (the session checker observes applies here). */
  readonly wrapStateMachine?: (nodeId: string, factory: StateMachineFactory) => StateMachineFactory;
  /** A node stopped itself (storage failure, broken invariant). */
  readonly onFatal?: (nodeId: string, error: unknown) => void;
  readonly logger?: Logger;
}

export interface ClientEnvironment {
  readonly network: Network;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 16; i++) await Promise.resolve();
}

export class SystemEnsemble {
  readonly sim: SimScheduler;
  readonly faulty: FaultyNetwork;
  readonly nodeIds: readonly string[];
  private readonly epochs: EpochNetwork;
  private readonly gates = new Map<string, PauseGate>();
  private readonly clocks = new Map<string, Clock>();
  private readonly logs = new Map<string, DelayedSyncLog>();
  private readonly nodes = new Map<string, CorralNode | undefined>();
  private readonly logger: Logger;
  private readonly faultRandom: Random;
  /** The peers' keys, derived from the seed; the adversary does not have them. */
  readonly keyring: ClusterKeyring;
  /** Incarnation epochs by node: the harness plays the incarnation file (+1 at every start). */
  private readonly incarnations = new Map<string, number>();
  /** The latest sealed frames nodes sent each other, as an eavesdropper on Redis sees them (a bounded ring). */
  readonly recentPeerFrames: { readonly from: string; readonly to: string; readonly frame: Uint8Array }[] = [];
  private recordedFrames = 0;
  /** Called between simulated events (after microtasks drained); the checkers sample here. */
  observer: (() => void) | undefined;

  private constructor(private readonly options: SystemEnsembleOptions) {
    this.sim = new SimScheduler(options.seed);
    const inner = new InMemoryNetwork(this.sim, { latencyMsMin: 1, latencyMsMax: 3 });
    this.faulty = new FaultyNetwork(inner, { clock: this.sim.clockFor("network"), random: this.sim.random.fork("faults") });
    this.epochs = new EpochNetwork(this.faulty, this.sim);
    this.nodeIds = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.logger = options.logger ?? nullLogger;
    this.faultRandom = this.sim.random.fork("disk");
    this.keyring = simulationKeyring(options.seed);
    const fsyncRandom = this.sim.random.fork("fsync");
    const fsyncMax = options.fsyncDelayMsMax ?? 0;
    for (const id of this.nodeIds) {
      this.logs.set(id, new DelayedSyncLog(new MemoryDurableLog({ autoSync: false, maxPendingWrites: 100_000 }), this.sim, `fsync:${id}`, () => (fsyncMax <= 0 ? 0 : fsyncRandom.int(fsyncMax + 1))));
    }
  }

  static async start(options: SystemEnsembleOptions): Promise<SystemEnsemble> {
    const ensemble = new SystemEnsemble(options);
    for (const id of ensemble.nodeIds) await ensemble.startNode(id);
    return ensemble;
  }

  private gate(owner: string): PauseGate {
    let gate = this.gates.get(owner);
    if (gate === undefined) {
      gate = new PauseGate(this.sim, owner);
      this.gates.set(owner, gate);
    }
    return gate;
  }

  /** The owner's clock: drifting as the options say, and paused with the owner. */
  private clock(owner: string): Clock {
    let clock = this.clocks.get(owner);
    if (clock === undefined) {
      const base = this.sim.clockFor(owner, { driftPpm: this.options.driftPpm?.(owner) ?? 0 });
      const gate = this.gate(owner);
      clock = {
        now: () => base.now(),
        wallNow: () => base.wallNow(),
        setTimer: (delayMs, fn) => base.setTimer(delayMs, () => gate.run(fn)),
        clearTimer: (handle) => base.clearTimer(handle),
      };
      this.clocks.set(owner, clock);
    }
    return clock;
  }

  private networkFor(owner: string): Network {
    const gate = this.gate(owner);
    const isNode = this.nodeIds.includes(owner);
    return {
      open: async (id, onFrame) => {
        const endpoint = await this.epochs.open(id, onFrame, gate);
        if (!isNode) return endpoint;
        return {
          id: endpoint.id,
          send: (to, frame) => {
            if (isSealedPeerFrame(frame)) this.recentPeerFrames[this.recordedFrames++ % MAX_RECORDED_PEER_FRAMES] = { from: id, to, frame };
            endpoint.send(to, frame);
          },
          stats: () => endpoint.stats(),
          close: () => endpoint.close(),
        };
      },
      close: () => Promise.resolve(),
    };
  }

  private async startNode(id: string): Promise<CorralNode> {
    const gate = this.gate(id);
    const base = treeStateMachineFactory();
    const epoch = (this.incarnations.get(id) ?? 0) + 1;
    this.incarnations.set(id, epoch);
    const node = await createNode(
      { nodeId: id, peers: this.nodeIds, ...this.options.config },
      {
        clock: this.clock(id),
        random: this.sim.random.fork(`node:${id}:${this.sim.now()}`),
        network: this.networkFor(id),
        logger: this.logger,
        executor: (fn) => this.sim.schedule(() => gate.run(fn)),
        durableLog: this.logs.get(id)!,
        stateMachine: this.options.wrapStateMachine?.(id, base) ?? base,
        onFatal: (error) => this.options.onFatal?.(id, error),
        peerAuth: { keyring: this.keyring, epoch },
        // Session secrets from the seed (replayable), drawn apart from sim.random so nothing else shifts.
        entropy: entropyFromRandom(new SeededRandom(this.options.seed).fork(`entropy:${id}:${epoch}`)),
      },
    );
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): CorralNode | undefined {
    const node = this.nodes.get(id);
    return node === undefined || node.stopped ? undefined : node;
  }

  liveNodes(): CorralNode[] {
    return this.nodeIds.map((id) => this.node(id)).filter((n): n is CorralNode => n !== undefined);
  }

  durableLog(id: string): MemoryDurableLog {
    return this.logs.get(id)!.memory;
  }

  leader(): CorralNode | undefined {
    let best: CorralNode | undefined;
    for (const node of this.liveNodes()) {
      const status = node.status();
      if (status.role === "leader" && !this.isPaused(node.id) && (best === undefined || status.term > best.status().term)) best = node;
    }
    return best;
  }

  /** Run simulated events until `predicate` holds or `maxMs` of simulated time pass. */
  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    const until = this.sim.now() + maxMs;
    for (;;) {
      await drainMicrotasks();
      this.observer?.();
      if (predicate()) return true;
      if (this.sim.now() >= until) return false;
      if (!this.sim.step()) return predicate();
    }
  }

  async runFor(ms: number): Promise<void> {
    const until = this.sim.now() + ms;
    await this.runUntil(() => this.sim.now() >= until, ms + 1);
  }

  async crash(id: string, options: { readonly tornTail: boolean }): Promise<void> {
    const node = this.nodes.get(id);
    if (node === undefined) return;
    this.nodes.set(id, undefined);
    this.gate(id).reset();
    await node.stop();
    this.logs.get(id)!.memory.crash({ loseUnsynced: true, tornTail: options.tornTail, random: this.faultRandom });
  }

  async restart(id: string): Promise<void> {
    if (this.nodes.get(id) !== undefined) return;
    await this.startNode(id);
  }

  pause(owner: string): void {
    this.gate(owner).paused = true;
  }

  resume(owner: string): void {
    const gate = this.gate(owner);
    if (gate.paused) gate.resume();
  }

  isPaused(owner: string): boolean {
    return this.gates.get(owner)?.paused ?? false;
  }

  restartRedis(downMs: number): void {
    this.epochs.restartRedis(downMs);
  }

  fault(command: FaultCommand): void {
    const error = this.faulty.apply(command);
    if (error !== undefined) throw error;
  }

  /** Heal everything: network, pauses, crashed nodes. */
  async healAll(): Promise<void> {
    this.faulty.apply({ kind: "heal" });
    this.epochs.downUntilMs = -1;
    for (const owner of this.gates.keys()) this.resume(owner);
    for (const id of this.nodeIds) await this.restart(id);
  }

  get framesLostToRedisRestarts(): number {
    return this.epochs.framesLost;
  }

  clientEnv(label: string): ClientEnvironment {
    return { network: this.networkFor(label), clock: this.clock(label), random: this.sim.random.fork(`client:${label}`), logger: this.logger };
  }

  async close(): Promise<void> {
    for (const node of this.liveNodes()) await node.stop();
    await this.faulty.close();
  }
}
