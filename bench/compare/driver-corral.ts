/**
 * Corral through its own client (@corral/client `connect`), against a 3-node
 * ensemble on loopback this driver starts (redis-server + 3 `corral node`
 * processes, fsync always: bench/corral/ensemble.ts), or against a running
 * ensemble it is given (`corral bench --data DIR` / `--redis URL --cluster NAME`).
 * Each BenchClient is one Corral session; the client picks its node at random,
 * so sessions spread over the ensemble as ZooKeeper's do.
 */
import { connect, type Client } from "@corral/client";
import { CreateMode, NodeExistsError } from "@corral/protocol";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalEnsemble, fetchStatus, findLeader, type EnsembleMember, type EnsembleTarget } from "../corral/ensemble.js";
import { measureFloor, type FloorReport } from "../corral/floor.js";
import { makeOwnedDirectory, removeOwnedDirectory, sleep } from "./processes.js";
import { ZooKeeperBenchClient } from "./driver-zookeeper.js";
import { CompareError, type BenchClient, type Detection, type DriverFactory, type DriverOptions, type KilledLeader, type LeaderTerm, type SystemDriver } from "./types.js";

/** The client default: what a Corral user gets unless they tune it. */
const sessionTimeoutMs = 10_000;
const connectTimeoutMs = 20_000;
const electionPollIntervalMs = 20;
const electionTimeoutMs = 60_000;

class CorralBenchClient implements BenchClient {
  private readonly id: string;

  constructor(private readonly client: Client) {
    this.id = String(client.sessionId ?? "none");
  }

  async create(path: string, data: Uint8Array, sequential: boolean): Promise<boolean> {
    try {
      await this.client.create(path, data, { mode: sequential ? CreateMode.PersistentSequential : CreateMode.Persistent });
      return true;
    } catch (error) {
      if (!sequential && error instanceof NodeExistsError) return false;
      throw error;
    }
  }

  async setData(path: string, data: Uint8Array): Promise<LeaderTerm> {
    await this.client.setData(path, data);
    // zxid is the Raft index and carries no term: failover falls back to "issued after the kill".
    return undefined;
  }

  async getData(path: string): Promise<Uint8Array> {
    return (await this.client.getData(path)).data;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.client.exists(path)) !== null;
  }

  async watchOnce(path: string): Promise<() => Promise<void>> {
    let fired: () => void = () => undefined;
    const event = new Promise<void>((resolve) => {
      fired = resolve;
    });
    await this.client.exists(path, { watch: () => fired() });
    return () => event;
  }

  /** The same recipe the ZooKeeper driver uses: ephemeral sequential child, lowest wins, wait on the predecessor. */
  async lockCycle(path: string): Promise<void> {
    const own = (await this.client.create(`${path}/lock-`, new Uint8Array(), { mode: CreateMode.EphemeralSequential })).path;
    const ownName = own.slice(path.length + 1);
    for (;;) {
      const { children } = await this.client.getChildren(path);
      const sorted = children.filter((name) => name.startsWith("lock-")).sort();
      const position = sorted.indexOf(ownName);
      if (position < 0) throw new CompareError("BadArgument", `lock node ${own} vanished`);
      if (position === 0) break;
      let fired: () => void = () => undefined;
      const deleted = new Promise<void>((resolve) => {
        fired = resolve;
      });
      const stat = await this.client.exists(`${path}/${sorted[position - 1] ?? ""}`, { watch: () => fired() });
      if (stat !== null) await deleted;
    }
    await this.client.delete(own);
  }

  sessionId(): string {
    return this.id;
  }

  sessionAlive(): boolean {
    const state = this.client.state;
    return state !== "expired" && state !== "closed" && String(this.client.sessionId) === this.id;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Which client drives the ensemble (see corralSystems in types.ts). */
export type CorralClientKind = "corral" | "corral-tcp" | "corral-zk";

export interface CorralDriverOptions extends DriverOptions {
  /** Default "corral": Corral's own client over Redis Streams. */
  readonly client?: CorralClientKind;
  /** Attach to this running ensemble instead of starting one. */
  readonly target?: EnsembleTarget;
  /** Node.js flags for the nodes this driver starts (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Keep the node logs and data directory after teardown (printed). */
  readonly keepDirectory?: boolean;
}

export class CorralDriver implements SystemDriver {
  readonly name: CorralClientKind;
  readonly version = "0.1.0 (this repository)";
  private ensemble: LocalEnsemble | undefined;
  private directory: string | undefined;
  private attached: EnsembleTarget | undefined;
  private readonly dead = new Set<string>();

  constructor(private readonly options: CorralDriverOptions) {
    this.name = options.client ?? "corral";
  }

  get target(): EnsembleTarget {
    const target = this.attached ?? this.ensemble?.target;
    if (target === undefined) throw new CompareError("BadArgument", "corral driver used before setup");
    return target;
  }

  async setup(): Promise<void> {
    if (this.options.target !== undefined) {
      this.attached = this.options.target;
      const leader = await findLeader(this.attached.members);
      this.options.log(`corral: attached to cluster ${this.attached.cluster} on ${this.attached.redisUrl}; leader ${leader?.member.id ?? "unknown (admin /status unreachable)"}`);
      return;
    }
    // A kept directory (profiles, logs) must outlive processes.ts's exit cleanup of owned directories.
    this.directory = this.options.keepDirectory === true ? mkdtempSync(join(tmpdir(), "corral-bench-corral-")) : makeOwnedDirectory("corral-bench-corral-");
    this.ensemble = new LocalEnsemble({ directory: this.directory, nodeCount: 3, log: this.options.log, ...(this.options.nodeFlags === undefined ? {} : { nodeFlags: this.options.nodeFlags }) });
    await this.ensemble.start();
    this.options.log(`corral: leader ${(await this.leader())?.id ?? "unknown"}`);
  }

  async newClient(): Promise<BenchClient> {
    const target = this.target;
    if (this.name !== "corral") {
      const servers = target.members.filter((member) => !this.dead.has(member.id)).map((member) => member.clientAddress);
      if (servers.some((address) => address === undefined)) throw new CompareError("BadArgument", `${this.name} needs every node's client port (ensemble.json clientAddress)`);
      const connectString = (servers as string[]).join(",");
      if (this.name === "corral-zk") return ZooKeeperBenchClient.connect(connectString);
      return new CorralBenchClient(await connect({ servers: connectString, sessionTimeoutMs, connectTimeoutMs }));
    }
    const client = await connect({
      cluster: target.cluster,
      redis: target.redisUrl,
      nodes: target.members.filter((member) => !this.dead.has(member.id)).map((member) => member.id),
      sessionTimeoutMs,
      connectTimeoutMs,
    });
    return new CorralBenchClient(client);
  }

  /** The write-latency floor measured on this ensemble's Redis (see bench/corral/hops.ts). */
  measureFloor(fsyncP50Ms: number): Promise<FloorReport> {
    return measureFloor(this.target.redisUrl, fsyncP50Ms);
  }

  /** The member the admin /status reports as leader. */
  async leader(): Promise<EnsembleMember | undefined> {
    return (await findLeader(this.target.members.filter((member) => !this.dead.has(member.id))))?.member;
  }

  async killLeader(): Promise<KilledLeader> {
    const target = this.target;
    const leader = await this.leader();
    if (leader === undefined) throw new CompareError("LeaderNotFound", "no corral member reports itself leader");
    const killedAtNs = process.hrtime.bigint();
    if (this.ensemble !== undefined) {
      await this.ensemble.kill(leader.id);
    } else {
      if (leader.pid === undefined) throw new CompareError("LeaderNotFound", `leader ${leader.id}'s pid is unknown (attach with --data DIR so ensemble.json gives it)`);
      process.kill(leader.pid, "SIGKILL");
      const pid = leader.pid;
      while (isAlive(pid)) await sleep(5);
    }
    this.dead.add(leader.id);
    const survivors = target.members.filter((member) => !this.dead.has(member.id));
    const newLeaderElected = (async (): Promise<bigint | undefined> => {
      const deadline = killedAtNs + BigInt(electionTimeoutMs) * 1_000_000n;
      while (process.hrtime.bigint() < deadline) {
        const statuses = await Promise.all(survivors.map((member) => fetchStatus(member, 500)));
        if (statuses.some((status) => status?.role === "leader" && status.id !== leader.id)) return process.hrtime.bigint();
        await sleep(electionPollIntervalMs);
      }
      return undefined;
    })();
    return { member: leader.id, killedAtNs, newLeaderElected };
  }

  async teardown(): Promise<void> {
    await this.ensemble?.stop();
    this.ensemble = undefined;
    if (this.directory !== undefined) {
      if (this.options.keepDirectory === true) this.options.log(`corral: node logs kept in ${this.directory}`);
      else removeOwnedDirectory(this.directory);
    }
    this.directory = undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function detectCorral(): Promise<Detection> {
  if (!existsSync("/usr/bin/redis-server") && !(process.env["PATH"] ?? "").split(":").some((directory) => existsSync(`${directory}/redis-server`))) {
    return { available: false, reason: "redis-server not found (Corral's network; apt-get install redis-server)" };
  }
  return { available: true, version: "0.1.0 (this repository)", detail: "3 `corral node` processes over a local redis-server, fsync always" };
}

export function isCorralDriver(driver: SystemDriver): driver is CorralDriver {
  return driver instanceof CorralDriver;
}

export const corralDriverFactory: DriverFactory = {
  name: "corral",
  detect: detectCorral,
  create: (options) => new CorralDriver(options),
};

export const corralTcpDriverFactory: DriverFactory = {
  name: "corral-tcp",
  detect: detectCorral,
  create: (options) => new CorralDriver({ ...options, client: "corral-tcp" }),
};

export const corralZkDriverFactory: DriverFactory = {
  name: "corral-zk",
  detect: detectCorral,
  create: (options) => new CorralDriver({ ...options, client: "corral-zk" }),
};
