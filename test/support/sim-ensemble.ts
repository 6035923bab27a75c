/**
 * A simulated Corral ensemble: N real nodes (createNode) on one SimScheduler,
 * an InMemoryNetwork wrapped in a FaultyNetwork, and a MemoryDurableLog per
 * node. One seed reproduces the whole run. Clients open endpoints on the
 * same network and clock through `clientEnv()`.
 *
 * Time only moves inside `runUntil` / `runFor`. Durable-log writes resolve
 * through promises, so the harness drains microtasks after every simulated
 * event (deterministic: nothing else runs in between).
 */
import { FaultyNetwork, InMemoryNetwork, SeededRandom, SimScheduler, nullLogger, simulationKeyring, type Clock, type ClusterKeyring, type FaultCommand, type Logger, type Network, type Random } from "@corral/actors";
import { MemoryDurableLog } from "@corral/consensus";
import { SimClientStream, createNode, entropyFromRandom, type CorralNode, type NodeConfig, type NodeStatus, type SimStreamOptions } from "@corral/server";

export interface SimEnsembleOptions {
  readonly seed: number;
  readonly nodes?: 3 | 5;
  /** Applied to every link at start (e.g. { drop: 0.05, duplicate: 0.02, reorder: 0.05 }). */
  readonly faults?: { readonly drop?: number; readonly duplicate?: number; readonly reorder?: number; readonly delayMsMin?: number; readonly delayMsMax?: number };
  /** Overrides for every node's config. */
  readonly config?: Partial<Omit<NodeConfig, "nodeId" | "peers">>;
  readonly logger?: Logger;
  /** The peers' keys (default: derived from the seed, see simulationKeyring). */
  readonly keyring?: ClusterKeyring;
  /** Sees every frame a node sends, as it leaves the node (sealed, for peers): hostile-input tests record real traffic with it. */
  readonly tap?: (from: string, to: string, frame: Uint8Array) => void;
}

export interface ClientEnv {
  readonly network: Network;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

export interface SimEnsemble {
  readonly sim: SimScheduler;
  readonly network: FaultyNetwork;
  readonly nodeIds: readonly string[];
  /** The peers' keys (hostile-input tests forge and replay frames with or without them). */
  readonly keyring: ClusterKeyring;
  /** A node's current incarnation epoch (1 at the first start, +1 at each restart). */
  epoch(id: string): number;
  /** The live node with this id, or undefined while crashed. */
  node(id: string): CorralNode | undefined;
  /** Run simulated events until `predicate` holds (checked between events) or `maxMs` of simulated time pass. */
  runUntil(predicate: () => boolean, maxMs?: number): Promise<boolean>;
  runFor(ms: number): Promise<void>;
  /** The live leader of the highest term, if any. */
  leader(): CorralNode | undefined;
  /** Runs until there is a leader; throws if none within maxMs. */
  waitForLeader(maxMs?: number): Promise<CorralNode>;
  crash(id: string, options?: { readonly loseUnsynced?: boolean }): Promise<void>;
  restart(id: string): Promise<CorralNode>;
  partition(groups: readonly (readonly string[])[]): void;
  heal(): void;
  fault(command: FaultCommand): void;
  status(): NodeStatus[];
  /** id -> { appliedIndex, digest } of live nodes. */
  digests(): Record<string, { readonly appliedIndex: number; readonly digest: string }>;
  /** Waits until every live node has applied the same index with the same digest. */
  converge(maxMs?: number): Promise<boolean>;
  clientEnv(label: string): ClientEnv;
  /**
   * A ZooKeeper-wire client stream to a live node (the client port's
   * simulated twin, on the simulated clock). Throws if the node is down.
   */
  clientStream(nodeId: string, options?: SimStreamOptions): SimClientStream;
  close(): Promise<void>;
}

async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 16; i++) await Promise.resolve();
}

export async function createSimEnsemble(options: SimEnsembleOptions): Promise<SimEnsemble> {
  const sim = new SimScheduler(options.seed);
  const inner = new InMemoryNetwork(sim, { latencyMsMin: 1, latencyMsMax: 3 });
  const network = new FaultyNetwork(inner, { clock: sim.clockFor("network"), random: sim.random.fork("faults") });
  const count = options.nodes ?? 3;
  const nodeIds = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  const logs = new Map(nodeIds.map((id) => [id, new MemoryDurableLog()]));
  const nodes = new Map<string, CorralNode | undefined>();
  const logger = options.logger ?? nullLogger;
  if (options.faults !== undefined) network.apply({ kind: "set-link-faults", from: "*", to: "*", ...options.faults });
  const keyring = options.keyring ?? simulationKeyring(options.seed);
  // The harness plays the incarnation file: every start of a node gets a higher epoch.
  const epochs = new Map<string, number>();

  const tap = options.tap;
  const nodeNetwork: Network =
    tap === undefined
      ? network
      : {
          open: async (id, onFrame) => {
            const endpoint = await network.open(id, onFrame);
            const send = (to: string, frame: Uint8Array): void => {
              tap(id, to, frame);
              endpoint.send(to, frame);
            };
            return { id: endpoint.id, send, stats: () => endpoint.stats(), close: () => endpoint.close() };
          },
          close: () => network.close(),
        };

  const start = async (id: string): Promise<CorralNode> => {
    const epoch = (epochs.get(id) ?? 0) + 1;
    epochs.set(id, epoch);
    const node = await createNode(
      { nodeId: id, peers: nodeIds, ...options.config },
      {
        clock: sim.clockFor(id),
        random: sim.random.fork(`node:${id}`),
        network: nodeNetwork,
        logger,
        executor: sim.schedule,
        durableLog: logs.get(id)!,
        peerAuth: { keyring, epoch },
        // Session secrets from the seed (replayable), drawn apart from sim.random so nothing else shifts.
        entropy: entropyFromRandom(new SeededRandom(options.seed).fork(`entropy:${id}:${epoch}`)),
      },
    );
    nodes.set(id, node);
    return node;
  };
  for (const id of nodeIds) await start(id);

  const live = (): CorralNode[] => nodeIds.map((id) => nodes.get(id)).filter((n): n is CorralNode => n !== undefined && !n.stopped);

  const ensemble: SimEnsemble = {
    sim,
    network,
    nodeIds,
    keyring,
    epoch: (id) => epochs.get(id) ?? 0,
    node: (id) => {
      const node = nodes.get(id);
      return node === undefined || node.stopped ? undefined : node;
    },
    async runUntil(predicate, maxMs = 30_000) {
      const until = sim.now() + maxMs;
      for (;;) {
        await drainMicrotasks();
        if (predicate()) return true;
        const before = sim.executedEvents;
        let first = true;
        sim.runUntil(() => {
          if (first) {
            first = false;
            return false;
          }
          return true;
        }, Math.max(0, until - sim.now()));
        if (sim.executedEvents === before) {
          await drainMicrotasks();
          return predicate();
        }
      }
    },
    async runFor(ms) {
      const until = sim.now() + ms;
      await ensemble.runUntil(() => sim.now() >= until, ms);
    },
    leader() {
      let best: CorralNode | undefined;
      for (const node of live()) {
        const status = node.status();
        if (status.role === "leader" && (best === undefined || status.term > best.status().term)) best = node;
      }
      return best;
    },
    async waitForLeader(maxMs = 10_000) {
      const ok = await ensemble.runUntil(() => ensemble.leader() !== undefined, maxMs);
      const leader = ensemble.leader();
      if (!ok || leader === undefined) throw new Error(`no leader within ${maxMs} ms (seed ${options.seed})`);
      return leader;
    },
    async crash(id, crashOptions = {}) {
      const node = nodes.get(id);
      if (node === undefined) return;
      await node.stop();
      logs.get(id)!.crash({ loseUnsynced: crashOptions.loseUnsynced ?? true });
      nodes.set(id, undefined);
    },
    async restart(id) {
      if (ensemble.node(id) !== undefined) throw new Error(`${id} is running`);
      return start(id);
    },
    partition(groups) {
      network.apply({ kind: "partition", groups: groups.map((g) => [...g]) });
    },
    heal() {
      network.apply({ kind: "heal" });
    },
    fault(command) {
      const error = network.apply(command);
      if (error !== undefined) throw error;
    },
    status: () => live().map((node) => node.status()),
    digests() {
      const out: Record<string, { appliedIndex: number; digest: string }> = {};
      for (const node of live()) {
        const status = node.status();
        out[node.id] = { appliedIndex: status.appliedIndex, digest: status.digest };
      }
      return out;
    },
    async converge(maxMs = 10_000) {
      return ensemble.runUntil(() => {
        const statuses = live().map((n) => n.status());
        const first = statuses[0];
        return first !== undefined && statuses.every((s) => s.appliedIndex === first.appliedIndex && s.digest === first.digest && s.commitIndex === s.appliedIndex);
      }, maxMs);
    },
    clientEnv(label) {
      return { network, clock: sim.clockFor(`client:${label}`), random: sim.random.fork(`client:${label}`), logger };
    },
    clientStream(nodeId, streamOptions = {}) {
      const node = ensemble.node(nodeId);
      if (node === undefined) throw new Error(`${nodeId} is not running`);
      return new SimClientStream(sim.clockFor(`stream:${nodeId}`), node, streamOptions);
    },
    async close() {
      for (const node of live()) await node.stop();
      await network.close();
    },
  };
  return ensemble;
}
