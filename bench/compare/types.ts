/**
 * The contract between the comparison's workload runner and the systems it
 * drives. A system (ZooKeeper, etcd, Corral) plugs in with one driver file that
 * exports a `DriverFactory`; bench/compare/drivers.ts lists them.
 */

/** The systems the comparison knows by name; a driver's `name` is one of these. */
export type SystemName = "zookeeper" | "etcd" | "corral" | "corral-tcp" | "corral-zk";

/**
 * Corral's columns: "corral" is Corral's own client over Redis Streams (the
 * rows recorded since the first release), "corral-tcp" Corral's own client
 * over the client port (ZooKeeper's wire protocol), "corral-zk" the very
 * node-zookeeper-client driver the ZooKeeper column uses, over the same port.
 */
export const corralSystems: readonly SystemName[] = ["corral", "corral-tcp", "corral-zk"];

/**
 * One client session against a running system. Paths are ZooKeeper-style
 * ("/bench/k-1"); a key-value system maps them to keys as it sees fit.
 */
export interface BenchClient {
  /**
   * Creates `path`. With `sequential`, the system (or, for a system without
   * server-side sequence numbers, the driver) makes the name unique and the call
   * always creates. Resolves true when created, false when `path` already existed.
   */
  create(path: string, data: Uint8Array, sequential: boolean): Promise<boolean>;
  /**
   * Unconditional write of the whole value. Resolves with the leader term the
   * write committed in (Raft term; ZooKeeper: the zxid's epoch) when the system
   * reports one, so failover can tell a write committed by the new leader from
   * one the old leader committed just before dying; otherwise undefined.
   */
  setData(path: string, data: Uint8Array): Promise<LeaderTerm>;
  /** The system's default read (ZooKeeper: local replica; etcd: linearizable). */
  getData(path: string): Promise<Uint8Array>;
  exists(path: string): Promise<boolean>;
  /**
   * Registers a one-shot data watch on `path` and resolves once the system has
   * acknowledged it; the returned function resolves when the next change event
   * arrives.
   */
  watchOnce(path: string): Promise<() => Promise<void>>;
  /** Acquires and releases the lock named by `path` once (the system's usual lock recipe). */
  lockCycle?(path: string): Promise<void>;
  /** An identifier of the server-side session, to tell whether it survived a failover. */
  sessionId(): string;
  /** Resolves true while the server-side session is alive (not expired or lost). */
  sessionAlive(): boolean;
  close(): Promise<void>;
}

export type LeaderTerm = bigint | undefined;

/** A running (or startable) system under test. */
export interface SystemDriver {
  readonly name: SystemName;
  /** Version string as reported by the system itself once set up. */
  readonly version: string;
  /** Starts the ensemble (or connects to one) and waits until it serves requests. */
  setup(): Promise<void>;
  /** Opens a new client session; resolves once the session is established. */
  newClient(): Promise<BenchClient>;
  /** kill -9 of the current leader; resolves once it is dead (not once a new one is elected). */
  killLeader?(): Promise<KilledLeader>;
  /** Stops everything `setup` started and removes its files. Safe to call twice. */
  teardown(): Promise<void>;
}

export interface KilledLeader {
  /** The killed member's name in the driver's numbering ("zk2", "etcd1"). */
  readonly member: string;
  /** process.hrtime.bigint() at the moment the SIGKILL was sent. */
  readonly killedAtNs: bigint;
  /**
   * Resolves with process.hrtime.bigint() when the surviving members report a
   * new leader (server-side election time, independent of any client), or
   * undefined if none is reported within the driver's limit.
   */
  readonly newLeaderElected: Promise<bigint | undefined>;
}

/** Whether a system can run here, and why not when it cannot. */
export type Detection =
  | { readonly available: true; readonly version: string; readonly detail: string }
  | { readonly available: false; readonly reason: string };

export interface DriverOptions {
  /** Receives progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
}

export interface DriverFactory {
  readonly name: SystemName;
  detect(): Promise<Detection>;
  create(options: DriverOptions): SystemDriver;
}

/** A failure of the comparison harness itself (not of a measured operation). */
export class CompareError extends Error {
  readonly _tag = "CompareError";
  constructor(
    readonly code:
      | "PeerStartFailed"
      | "PeerNotHealthy"
      | "LeaderNotFound"
      | "ClientConnectFailed"
      | "UnknownWorkload"
      | "UnknownSystem"
      | "BadArgument",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CompareError";
  }
}
