/**
 * Locks: a re-entrant Mutex, a ReadWriteLock and a counting Semaphore, all on
 * ephemeral-sequential nodes under one path (ZooKeeper's lock recipe, Curator's
 * protected mode). Each waiter watches only the node whose deletion can let it
 * in, so a release wakes exactly one waiter (no herd effect). Every hold
 * carries a fencing token, the czxid of its lock node: tokens of successive
 * holders only grow, so a resource that refuses tokens below the highest it has
 * seen (FencedResource) refuses a holder whose session silently expired.
 */
import type { Client } from "@corral/client";
import { Deadline, deleteDefinitely, sessionSource, validateRecipePath, type RecipeEnv, type SessionSource, type WaitOptions } from "./common.js";
import { InvalidRecipeArgument, NotHeld, RecipeLimitExceeded, invariant } from "./errors.js";
import { acquireNode, type LockDriver, type LockWaitStats } from "./lock-internals.js";
import { liveRecipeEnv } from "./env-live.js";

/** A held lock or lease. */
export interface LockHold {
  /** The lock node. */
  readonly path: string;
  /** czxid of the lock node: grows with every new holder. */
  readonly fencingToken: number;
  /** Aborts when the hold may be lost: the session disconnected, expired or the client closed. */
  readonly signal: AbortSignal;
}

const mutexDriver: LockDriver = (sorted, ourIndex) => (ourIndex === 0 ? { acquired: true } : { acquired: false, watch: sorted[ourIndex - 1]! });

/** A signal that aborts once the client leaves "connected" (holding is then no longer certain). */
function holdSignal(client: Client): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  if (client.state !== "connected") controller.abort(new Error(`client is ${client.state}`));
  const unsubscribe = client.on("state", (change) => {
    if (change.state !== "connected" && change.state !== "connecting") controller.abort(new Error(`client is ${change.state}`));
  });
  return { signal: controller.signal, dispose: unsubscribe };
}

interface ActiveHold extends LockHold {
  readonly client: Client;
  readonly dispose: () => void;
}

/** Shared by Mutex and the two sides of ReadWriteLock: re-entrant per instance. */
class ReentrantLock {
  private hold: ActiveHold | undefined;
  private count = 0;
  private pending: Promise<unknown> = Promise.resolve();
  readonly stats: LockWaitStats = { wakeups: 0 };

  constructor(
    private readonly sessions: SessionSource,
    private readonly env: RecipeEnv,
    private readonly base: string,
    private readonly name: string,
    private readonly driver: LockDriver,
    private readonly filter: (name: string) => boolean,
    private readonly what: string,
  ) {}

  /** Acquire (or re-enter). Fails with RecipeTimeout / RecipeAborted / SessionLost or a client error; nothing is left behind. */
  acquire(options: WaitOptions = {}): Promise<LockHold> {
    const deadline = new Deadline(this.env.clock, `acquire ${this.what}`, options);
    // Serialise this instance's acquisitions: a second caller re-enters after the first gets it.
    const attempt = this.pending.then(() => this.acquireNow(deadline));
    this.pending = attempt.catch(() => undefined);
    return attempt;
  }

  private async acquireNow(deadline: Deadline): Promise<LockHold> {
    if (this.hold !== undefined && this.hold.client.state === "connected") {
      if (this.count >= 1_000_000) throw new RecipeLimitExceeded("re-entrant holds", this.count);
      this.count++;
      return this.hold;
    }
    if (this.hold !== undefined) {
      // The old hold is doubtful (disconnected/expired): drop it before queueing again.
      this.forget();
    }
    const node = await acquireNode(this.sessions, this.env, this.base, this.name, this.driver, deadline, this.filter, { stats: this.stats });
    const { signal, dispose } = holdSignal(node.client);
    this.hold = { path: node.path, fencingToken: node.stat.czxid, signal, client: node.client, dispose };
    this.count = 1;
    return this.hold;
  }

  isHeld(): boolean {
    return this.hold !== undefined && !this.hold.signal.aborted;
  }

  get fencingToken(): number | undefined {
    return this.hold?.fencingToken;
  }

  get holdCount(): number {
    return this.count;
  }

  /** Release one level; the last one deletes the node. */
  async release(): Promise<void> {
    const hold = this.hold;
    if (hold === undefined) throw new NotHeld(this.what);
    invariant(this.count > 0, "held lock with a zero hold count");
    this.count--;
    if (this.count > 0) return;
    this.forget();
    if (hold.client.state === "expired" || hold.client.state === "closed") return; // the ephemeral is gone with the session
    await deleteDefinitely(hold.client, hold.path);
  }

  private forget(): void {
    this.hold?.dispose();
    this.hold = undefined;
    this.count = 0;
  }
}

export interface MutexOptions {
  /** Data stored in the lock node (e.g. the holder's identity). */
  readonly data?: Uint8Array | string;
}

/**
 * An exclusive, re-entrant (per instance) lock under `path`.
 *
 * ```ts
 * const mutex = new Mutex(client, "/locks/orders", { clock, random });
 * const hold = await mutex.acquire({ timeoutMs: 5_000 });
 * try { await store.write(hold.fencingToken, value); } finally { await mutex.release(); }
 * ```
 */
export class Mutex {
  private readonly lock: ReentrantLock;
  constructor(client: Client | SessionSource, readonly path: string, env: RecipeEnv = liveRecipeEnv()) {
    validateRecipePath("path", path);
    this.lock = new ReentrantLock(sessionSource(client), env, path, "lock-", mutexDriver, (n) => /-lock-\d{10}$/.test(n), `mutex ${path}`);
  }
  acquire(options?: WaitOptions): Promise<LockHold> {
    return this.lock.acquire(options);
  }
  release(): Promise<void> {
    return this.lock.release();
  }
  isHeld(): boolean {
    return this.lock.isHeld();
  }
  get fencingToken(): number | undefined {
    return this.lock.fencingToken;
  }
  get holdCount(): number {
    return this.lock.holdCount;
  }
  /** Watch events this instance's waits received (for the herd-effect test). */
  get wakeups(): number {
    return this.lock.stats.wakeups;
  }
}

const isReadWriteNode = (name: string): boolean => /-[RW]-\d{10}$/.test(name);
const isWriter = (name: string): boolean => /-W-\d{10}$/.test(name);

/** A reader holds unless an earlier writer waits or holds; it watches only the nearest earlier writer. */
const readDriver: LockDriver = (sorted, ourIndex) => {
  for (let i = ourIndex - 1; i >= 0; i--) if (isWriter(sorted[i]!)) return { acquired: false, watch: sorted[i]! };
  return { acquired: true };
};

/**
 * A read-write lock: many readers or one writer. Nodes are `-R-` / `-W-`
 * sequential; a writer waits only for its predecessor, a reader only for the
 * nearest earlier writer. Each side is re-entrant per instance (a writer does
 * not downgrade; take the read lock before releasing the write lock's last level).
 */
export class ReadWriteLock {
  private readonly readLock: ReentrantLock;
  private readonly writeLock: ReentrantLock;
  constructor(client: Client | SessionSource, readonly path: string, env: RecipeEnv = liveRecipeEnv()) {
    validateRecipePath("path", path);
    const sessions = sessionSource(client);
    this.readLock = new ReentrantLock(sessions, env, path, "R-", readDriver, isReadWriteNode, `read lock ${path}`);
    this.writeLock = new ReentrantLock(sessions, env, path, "W-", mutexDriver, isReadWriteNode, `write lock ${path}`);
  }
  acquireRead(options?: WaitOptions): Promise<LockHold> {
    return this.readLock.acquire(options);
  }
  releaseRead(): Promise<void> {
    return this.readLock.release();
  }
  acquireWrite(options?: WaitOptions): Promise<LockHold> {
    return this.writeLock.acquire(options);
  }
  releaseWrite(): Promise<void> {
    return this.writeLock.release();
  }
  isReadHeld(): boolean {
    return this.readLock.isHeld();
  }
  isWriteHeld(): boolean {
    return this.writeLock.isHeld();
  }
  get wakeups(): number {
    return this.readLock.stats.wakeups + this.writeLock.stats.wakeups;
  }
}

/** A lease of a Semaphore; release it exactly once. */
export interface Lease extends LockHold {
  release(): Promise<void>;
}

/**
 * A counting semaphore: at most `maxLeases` holders at once (every user of the
 * path must pass the same maxLeases). A waiter whose index is >= maxLeases is
 * let in by the deletion of any earlier node, so it watches the children list
 * (at most maxLeases waiters can be let in by one release; documented herd).
 */
export class Semaphore {
  private readonly sessions: SessionSource;
  private readonly driver: LockDriver;
  readonly stats: LockWaitStats = { wakeups: 0 };
  constructor(client: Client | SessionSource, readonly path: string, readonly maxLeases: number, private readonly env: RecipeEnv = liveRecipeEnv()) {
    validateRecipePath("path", path);
    if (!Number.isSafeInteger(maxLeases) || maxLeases < 1) throw new InvalidRecipeArgument("maxLeases", `must be a positive integer, got ${String(maxLeases)}`);
    this.sessions = sessionSource(client);
    this.driver = (_sorted, ourIndex) => (ourIndex < this.maxLeases ? { acquired: true } : { acquired: false, watchChildren: true });
  }

  async acquire(options: WaitOptions = {}): Promise<Lease> {
    const deadline = new Deadline(this.env.clock, `acquire a lease of ${this.path}`, options);
    const node = await acquireNode(this.sessions, this.env, this.path, "lease-", this.driver, deadline, (n) => /-lease-\d{10}$/.test(n), { stats: this.stats });
    const { signal, dispose } = holdSignal(node.client);
    let released = false;
    return {
      path: node.path,
      fencingToken: node.stat.czxid,
      signal,
      release: async () => {
        if (released) throw new NotHeld(`lease ${node.path}`);
        released = true;
        dispose();
        if (node.client.state === "expired" || node.client.state === "closed") return;
        await deleteDefinitely(node.client, node.path);
      },
    };
  }
}

export interface FencedResourceOptions {
  /** Accepted writes kept for inspection (oldest dropped first; default 10,000). */
  readonly maxRecords?: number;
}

/**
 * A resource guarded by fencing tokens: a write carrying a token lower than the
 * highest accepted so far is refused. Tests use it as the mutual-exclusion
 * checker; a real store does the same comparison next to its data.
 */
export class FencedResource<T = unknown> {
  private highest = -1;
  private readonly records: { token: number; value: T | undefined }[] = [];
  private refusedCount = 0;
  private readonly maxRecords: number;
  constructor(options: FencedResourceOptions = {}) {
    this.maxRecords = options.maxRecords ?? 10_000;
  }

  /** Accept the write if `token` is not stale; returns whether it was accepted. */
  write(token: number, value?: T): boolean {
    if (!Number.isSafeInteger(token) || token < 0) throw new InvalidRecipeArgument("token", `must be a non-negative integer, got ${String(token)}`);
    if (token < this.highest) {
      this.refusedCount++;
      return false;
    }
    this.highest = token;
    this.records.push({ token, value });
    if (this.records.length > this.maxRecords) this.records.shift();
    return true;
  }

  get highestToken(): number {
    return this.highest;
  }
  get refused(): number {
    return this.refusedCount;
  }
  get accepted(): readonly { readonly token: number; readonly value: T | undefined }[] {
    return this.records;
  }
}
