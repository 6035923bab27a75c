/**
 * Apache ZooKeeper through `node-zookeeper-client`, against a 3-member
 * ensemble started by peers.ts. Each BenchClient is one ZooKeeper session whose
 * connection string lists all three members (the client picks one at random,
 * so clients spread over the ensemble as ZooKeeper users' do).
 */
import zookeeper from "node-zookeeper-client";
import type { Client, Event, Exception, Stat } from "node-zookeeper-client";
import { CompareError, type LeaderTerm, type BenchClient, type DriverFactory, type DriverOptions, type KilledLeader, type SystemDriver } from "./types.js";
import { detectZooKeeper, ZooKeeperEnsemble } from "./peers.js";
import { makeOwnedDirectory, removeOwnedDirectory } from "./processes.js";

/** Library default session timeout: what a ZooKeeper user gets unless they tune it. */
const sessionTimeoutMs = 30_000;
const connectTimeoutMs = 20_000;

type ZooKeeperCallbackError = Error | Exception | null;

function isException(error: unknown, code: number): boolean {
  return typeof error === "object" && error !== null && "code" in error && (error as { code: unknown }).code === code;
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function settle<T>(resolve: (value: T) => void, reject: (error: unknown) => void, value: () => T) {
  return (error: ZooKeeperCallbackError): void => {
    if (error) reject(error);
    else resolve(value());
  };
}

/** One node-zookeeper-client session (also used against Corral's client port: the corral-zk column). */
export class ZooKeeperBenchClient implements BenchClient {
  private expired = false;

  constructor(private readonly client: Client) {
    client.on("expired", () => {
      this.expired = true;
    });
  }

  static async connect(connectionString: string): Promise<ZooKeeperBenchClient> {
    const client = zookeeper.createClient(connectionString, { sessionTimeout: sessionTimeoutMs });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new CompareError("ClientConnectFailed", `ZooKeeper session not established within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      client.once("connected", () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
    return new ZooKeeperBenchClient(client);
  }

  create(path: string, data: Uint8Array, sequential: boolean): Promise<boolean> {
    const mode = sequential ? zookeeper.CreateMode.PERSISTENT_SEQUENTIAL : zookeeper.CreateMode.PERSISTENT;
    return new Promise((resolve, reject) => {
      this.client.create(path, toBuffer(data), mode, (error: ZooKeeperCallbackError) => {
        if (error && !sequential && isException(error, zookeeper.Exception.NODE_EXISTS)) resolve(false);
        else if (error) reject(error);
        else resolve(true);
      });
    });
  }

  setData(path: string, data: Uint8Array): Promise<LeaderTerm> {
    return new Promise((resolve, reject) => {
      this.client.setData(path, toBuffer(data), -1, (error: ZooKeeperCallbackError, stat: Stat | null) => {
        if (error) reject(error);
        // The high 32 bits of a zxid are the epoch of the leader that committed it.
        else resolve(stat?.mzxid?.length === 8 ? BigInt(stat.mzxid.readUInt32BE(0)) : undefined);
      });
    });
  }

  getData(path: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.client.getData(path, (error: ZooKeeperCallbackError, data: Buffer | null) => {
        if (error) reject(error);
        else resolve(data ?? new Uint8Array());
      });
    });
  }

  exists(path: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.exists(path, (error: ZooKeeperCallbackError, stat: Stat | null) => {
        if (error) reject(error);
        else resolve(stat !== null && stat !== undefined);
      });
    });
  }

  watchOnce(path: string): Promise<() => Promise<void>> {
    let fired: () => void = () => undefined;
    const event = new Promise<void>((resolve) => {
      fired = resolve;
    });
    return new Promise((resolve, reject) => {
      this.client.exists(path, (_event: Event) => fired(), (error: ZooKeeperCallbackError) => {
        if (error) reject(error);
        else resolve(() => event);
      });
    });
  }

  /**
   * The ZooKeeper lock recipe: ephemeral sequential child, lowest wins, others
   * watch their predecessor; release deletes the child.
   */
  async lockCycle(path: string): Promise<void> {
    const ownPath = await new Promise<string>((resolve, reject) => {
      this.client.create(`${path}/lock-`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (error: ZooKeeperCallbackError, created: string) => {
        if (error) reject(error);
        else resolve(created);
      });
    });
    const ownName = ownPath.slice(path.length + 1);
    for (;;) {
      const children = await new Promise<string[]>((resolve, reject) => {
        this.client.getChildren(path, (error: ZooKeeperCallbackError, names: string[]) => {
          if (error) reject(error);
          else resolve(names);
        });
      });
      const sorted = children.filter((name) => name.startsWith("lock-")).sort();
      const position = sorted.indexOf(ownName);
      if (position < 0) throw new CompareError("BadArgument", `lock node ${ownPath} vanished`);
      if (position === 0) break;
      const predecessor = `${path}/${sorted[position - 1] ?? ""}`;
      const waitForPredecessor = await this.watchDeletion(predecessor);
      await waitForPredecessor();
    }
    await new Promise<void>((resolve, reject) => {
      this.client.remove(ownPath, -1, settle(resolve, reject, () => undefined));
    });
  }

  private watchDeletion(path: string): Promise<() => Promise<void>> {
    let fired: () => void = () => undefined;
    const event = new Promise<void>((resolve) => {
      fired = resolve;
    });
    return new Promise((resolve, reject) => {
      this.client.exists(path, () => fired(), (error: ZooKeeperCallbackError, stat: Stat | null) => {
        if (error) reject(error);
        else if (stat === null || stat === undefined) resolve(() => Promise.resolve());
        else resolve(() => event);
      });
    });
  }

  sessionId(): string {
    return this.client.getSessionId().toString("hex");
  }

  sessionAlive(): boolean {
    return !this.expired;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      // close() sends closeSession (a replicated write) and then drops the socket.
      const timer = setTimeout(resolve, 5_000);
      this.client.once("disconnected", () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.close();
    });
  }
}

class ZooKeeperDriver implements SystemDriver {
  readonly name = "zookeeper" as const;
  private ensemble: ZooKeeperEnsemble | undefined;
  private directory: string | undefined;

  constructor(private readonly options: DriverOptions) {}

  get version(): string {
    return this.ensemble?.reportedVersion ?? "unknown";
  }

  async setup(): Promise<void> {
    this.directory = makeOwnedDirectory("corral-bench-zookeeper-");
    this.ensemble = new ZooKeeperEnsemble(this.directory, this.options.log);
    await this.ensemble.start();
  }

  newClient(): Promise<BenchClient> {
    if (this.ensemble === undefined) throw new CompareError("BadArgument", "zookeeper driver used before setup");
    return ZooKeeperBenchClient.connect(this.ensemble.connectionString);
  }

  killLeader(): Promise<KilledLeader> {
    if (this.ensemble === undefined) throw new CompareError("BadArgument", "zookeeper driver used before setup");
    return this.ensemble.killLeader();
  }

  async teardown(): Promise<void> {
    await this.ensemble?.stop();
    this.ensemble = undefined;
    if (this.directory !== undefined) removeOwnedDirectory(this.directory);
    this.directory = undefined;
  }
}

export const zookeeperDriverFactory: DriverFactory = {
  name: "zookeeper",
  detect: detectZooKeeper,
  create: (options) => new ZooKeeperDriver(options),
};
