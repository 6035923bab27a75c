/**
 * etcd 3.4 through the `etcd3` client, against a 3-member cluster started by
 * peers.ts. ZooKeeper-style operations map to keys: create = put-if-absent
 * transaction, setData = put, getData = get (etcd's default linearizable read),
 * exists = count-only range, watch = a key watcher, lock = etcd3's Lock (lease +
 * put-if-absent, released by revoking the lease). A session is what etcd users
 * hold for ephemeral state: a lease kept alive by the client.
 */
import { Etcd3, type Lease } from "etcd3";
import { CompareError, type LeaderTerm, type BenchClient, type DriverFactory, type DriverOptions, type KilledLeader, type SystemDriver } from "./types.js";
import { detectEtcd, EtcdCluster } from "./peers.js";
import { makeOwnedDirectory, removeOwnedDirectory } from "./processes.js";

/** Lease TTL of a session, seconds: ZooKeeper clients' 30 s default, for parity. */
const sessionTtlSeconds = 30;

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

let clientSerial = 0;

class EtcdBenchClient implements BenchClient {
  private lost = false;
  private sequence = 0;
  private readonly serial = (clientSerial += 1);

  private constructor(
    private readonly client: Etcd3,
    private readonly lease: Lease,
    private readonly leaseId: string,
  ) {
    lease.on("lost", () => {
      this.lost = true;
    });
  }

  static async connect(endpoints: string[]): Promise<EtcdBenchClient> {
    const client = new Etcd3({ hosts: endpoints });
    const lease = client.lease(sessionTtlSeconds);
    try {
      const leaseId = await lease.grant();
      return new EtcdBenchClient(client, lease, leaseId);
    } catch (error) {
      client.close();
      throw new CompareError("ClientConnectFailed", "etcd lease grant failed", { cause: error });
    }
  }

  async create(path: string, data: Uint8Array, sequential: boolean): Promise<boolean> {
    // etcd has no server-side sequence numbers: a per-client counter makes the
    // name unique, and the put-if-absent transaction still does the create check.
    const key = sequential ? `${path}${this.serial.toString(36)}-${String((this.sequence += 1)).padStart(10, "0")}` : path;
    const result = await this.client.if(key, "Create", "==", 0).then(this.client.put(key).value(toBuffer(data))).commit();
    return result.succeeded;
  }

  async setData(path: string, data: Uint8Array): Promise<LeaderTerm> {
    const response = await this.client.put(path).value(toBuffer(data)).exec();
    const term = response.header?.raft_term;
    return term === undefined ? undefined : BigInt(term);
  }

  async getData(path: string): Promise<Uint8Array> {
    return (await this.client.get(path).buffer()) ?? new Uint8Array();
  }

  async exists(path: string): Promise<boolean> {
    const response = await this.client.kv.range({ key: Buffer.from(path), count_only: true });
    return Number(response.count) > 0;
  }

  async watchOnce(path: string): Promise<() => Promise<void>> {
    const watcher = await this.client.watch().key(path).create();
    const event = new Promise<void>((resolve) => {
      watcher.once("put", () => resolve());
      watcher.once("delete", () => resolve());
    });
    return async () => {
      await event;
      await watcher.cancel();
    };
  }

  async lockCycle(path: string): Promise<void> {
    // The workload creates `path` itself (ZooKeeper's recipe needs a parent
    // node); etcd3's Lock needs an absent key, so lock a child of it.
    const lock = this.client.lock(`${path}/lock`);
    await lock.acquire();
    await lock.release();
  }

  sessionId(): string {
    return this.leaseId;
  }

  sessionAlive(): boolean {
    return !this.lost;
  }

  async close(): Promise<void> {
    await this.lease.revoke().catch(() => undefined);
    this.client.close();
  }
}

class EtcdDriver implements SystemDriver {
  readonly name = "etcd" as const;
  private cluster: EtcdCluster | undefined;
  private directory: string | undefined;

  constructor(private readonly options: DriverOptions) {}

  get version(): string {
    return this.cluster?.reportedVersion ?? "unknown";
  }

  async setup(): Promise<void> {
    this.directory = makeOwnedDirectory("corral-bench-etcd-");
    this.cluster = new EtcdCluster(this.directory, this.options.log);
    await this.cluster.start();
  }

  newClient(): Promise<BenchClient> {
    if (this.cluster === undefined) throw new CompareError("BadArgument", "etcd driver used before setup");
    return EtcdBenchClient.connect(this.cluster.endpoints);
  }

  killLeader(): Promise<KilledLeader> {
    if (this.cluster === undefined) throw new CompareError("BadArgument", "etcd driver used before setup");
    return this.cluster.killLeader();
  }

  async teardown(): Promise<void> {
    await this.cluster?.stop();
    this.cluster = undefined;
    if (this.directory !== undefined) removeOwnedDirectory(this.directory);
    this.directory = undefined;
  }
}

export const etcdDriverFactory: DriverFactory = {
  name: "etcd",
  detect: detectEtcd,
  create: (options) => new EtcdDriver(options),
};
