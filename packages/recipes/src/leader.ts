/**
 * Leader election. LeaderLatch: every candidate holds an ephemeral-sequential
 * node; the lowest is the leader; the others watch their predecessor only. A
 * term's fencing token is the czxid of the leader's latch node, so there is at
 * most one leader per token. Leadership is dropped (notLeader) as soon as the
 * connection is lost, since the session may be expiring unseen; on reconnect
 * the latch re-checks, and after an expiry it joins again on the new session.
 *
 * LeaderSelector: runs a callback while leader, with an AbortSignal that fires
 * when leadership may be lost; returning from the callback relinquishes.
 */
import type { Client } from "@corral/client";
import { Deadline, Listeners, deleteQuietly, joinPath, lastSegment, sessionSource, validateRecipePath, type RecipeEnv, type SessionSource, type WaitOptions } from "./common.js";
import { RecipeClosed, RetriesExhausted, SessionLost } from "./errors.js";
import { createProtected, sortedLockChildren } from "./lock-internals.js";
import { Mutex } from "./locks.js";
import { liveRecipeEnv } from "./env-live.js";

export interface LeaderTerm {
  /** czxid of the latch node: unique per term, grows with every new term. */
  readonly fencingToken: number;
  readonly path: string;
}

const isLatchNode = (name: string): boolean => /-latch-\d{10}$/.test(name);

export interface LeaderLatchOptions {
  /** Data stored in the latch node (the candidate's identity). */
  readonly data?: Uint8Array | string;
}

export class LeaderLatch {
  private readonly sessions: SessionSource;
  private client: Client | undefined;
  private ourPath: string | undefined;
  private ourToken = 0;
  private term: LeaderTerm | undefined;
  private started = false;
  private closed = false;
  private checking = false;
  private recheck = false;
  private readonly disposers: (() => void)[] = [];
  private readonly leaderListeners: Listeners<LeaderTerm>;
  private readonly notLeaderListeners: Listeners<LeaderTerm>;
  private readonly errorListeners: Listeners<unknown>;
  private readonly changed: Listeners<void>;
  /** Watch events this latch received (for tests). */
  wakeups = 0;

  constructor(client: Client | SessionSource, readonly path: string, private readonly env: RecipeEnv = liveRecipeEnv(), private readonly options: LeaderLatchOptions = {}) {
    validateRecipePath("path", path);
    this.sessions = sessionSource(client);
    this.leaderListeners = new Listeners(env.logger);
    this.notLeaderListeners = new Listeners(env.logger);
    this.errorListeners = new Listeners(env.logger);
    this.changed = new Listeners(env.logger);
  }

  on(event: "isLeader" | "notLeader", listener: (term: LeaderTerm) => void): () => void;
  on(event: "error", listener: (error: unknown) => void): () => void;
  on(event: "isLeader" | "notLeader" | "error", listener: ((term: LeaderTerm) => void) | ((error: unknown) => void)): () => void {
    if (event === "error") return this.errorListeners.add(listener as (error: unknown) => void);
    return (event === "isLeader" ? this.leaderListeners : this.notLeaderListeners).add(listener as (term: LeaderTerm) => void);
  }

  hasLeadership(): boolean {
    return this.term !== undefined;
  }

  /** The current term, if leader. */
  currentTerm(): LeaderTerm | undefined {
    return this.term;
  }

  /** Join the election (idempotent). */
  async start(): Promise<void> {
    if (this.closed) throw new RecipeClosed(`leader latch ${this.path}`);
    if (this.started) return;
    this.started = true;
    this.disposers.push(this.sessions.onNewClient((client) => void this.join(client)));
    await this.join(this.sessions.current());
  }

  /** Wait until this candidate is the leader. */
  async await(options: WaitOptions = {}): Promise<LeaderTerm> {
    const deadline = new Deadline(this.env.clock, `await leadership of ${this.path}`, options, () => this.closed);
    for (;;) {
      if (this.term !== undefined) return this.term;
      await deadline.sleep((wake) => this.changed.add(wake));
    }
  }

  /** Leave the election: delete the node; a leader gets notLeader. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const dispose of this.disposers.splice(0)) dispose();
    this.setLeader(undefined);
    this.changed.emit();
    const client = this.client;
    const path = this.ourPath;
    this.ourPath = undefined;
    if (client !== undefined && path !== undefined && client.state !== "expired" && client.state !== "closed") await deleteQuietly(client, path, this.env.logger);
  }

  private async join(client: Client): Promise<void> {
    if (this.closed) return;
    this.setLeader(undefined);
    this.client = client;
    this.ourPath = undefined;
    this.disposers.push(
      client.on("state", (change) => {
        if (this.client !== client) return;
        if (change.state === "connected") void this.check();
        else this.setLeader(undefined);
      }),
    );
    try {
      const created = await createProtected(client, this.env, this.path, "latch-", this.options.data ?? new Uint8Array(0));
      if (this.closed || this.client !== client) {
        await deleteQuietly(client, created.path, this.env.logger);
        return;
      }
      this.ourPath = created.path;
      this.ourToken = created.stat.czxid;
      await this.check();
    } catch (error) {
      this.errorListeners.emit(error);
    }
  }

  /** Re-evaluate leadership; serialised (a request while running re-runs it once). */
  private async check(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.recheck = false;
        await this.checkOnce();
      } while (this.recheck && !this.closed);
    } catch (error) {
      this.setLeader(undefined);
      if (error instanceof SessionLost) {
        // Our node vanished while the session lives (deleted by someone): join again.
        const client = this.client;
        if (client !== undefined && client.state === "connected" && !this.closed) void this.join(client);
      } else this.errorListeners.emit(error);
    } finally {
      this.checking = false;
    }
  }

  private async checkOnce(): Promise<void> {
    const client = this.client;
    const ourPath = this.ourPath;
    if (client === undefined || ourPath === undefined || this.closed || client.state !== "connected") return;
    const sorted = await sortedLockChildren(client, this.path, isLatchNode);
    const index = sorted.indexOf(lastSegment(ourPath));
    if (index < 0) throw new SessionLost(`latch node ${ourPath} is gone`);
    if (index === 0) {
      if (client.state === "connected" && this.client === client) this.setLeader({ fencingToken: this.ourToken, path: ourPath });
      return;
    }
    this.setLeader(undefined);
    const predecessor = joinPath(this.path, sorted[index - 1]!);
    const stat = await client.exists(predecessor, {
      watch: () => {
        this.wakeups++;
        if (this.client === client) void this.check();
      },
    });
    if (stat === null) this.recheck = true;
  }

  private setLeader(term: LeaderTerm | undefined): void {
    const previous = this.term;
    if (previous?.fencingToken === term?.fencingToken) return;
    this.term = term;
    if (previous !== undefined) this.notLeaderListeners.emit(previous);
    if (term !== undefined) this.leaderListeners.emit(term);
    this.changed.emit();
  }
}

export interface LeaderSelectorTerm extends LeaderTerm {
  /** Aborts when leadership may be lost (disconnect, expiry), on interrupt or close. */
  readonly signal: AbortSignal;
}

export interface LeaderSelectorOptions {
  /** Queue again after each term (default true). */
  readonly autoRequeue?: boolean;
  /** Consecutive failed acquisitions before the selector stops and reports (default 100). */
  readonly maxConsecutiveFailures?: number;
}

/**
 * Run `onLeadership` while leader. The callback should stop when `signal`
 * aborts; when it returns (or throws) leadership is relinquished and, with
 * autoRequeue, the selector queues again.
 */
export class LeaderSelector {
  private readonly mutex: Mutex;
  private readonly sessions: SessionSource;
  private closed = false;
  private running = false;
  private current: AbortController | undefined;
  private readonly closeController = new AbortController();
  private readonly errorListeners: Listeners<unknown>;
  /** Terms this selector has led. */
  terms = 0;

  constructor(
    client: Client | SessionSource,
    readonly path: string,
    private readonly env: RecipeEnv,
    private readonly onLeadership: (term: LeaderSelectorTerm) => Promise<void>,
    private readonly options: LeaderSelectorOptions = {},
  ) {
    this.sessions = sessionSource(client);
    this.mutex = new Mutex(this.sessions, path, env);
    this.errorListeners = new Listeners(env.logger);
  }

  on(_event: "error", listener: (error: unknown) => void): () => void {
    return this.errorListeners.add(listener);
  }

  /** Start (or requeue after a term when autoRequeue is off). */
  start(): void {
    if (this.closed) throw new RecipeClosed(`leader selector ${this.path}`);
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  requeue(): void {
    this.start();
  }

  /** Abort the current term's signal (the callback should return). */
  interruptLeadership(): void {
    this.current?.abort(new Error("leadership interrupted"));
  }

  hasLeadership(): boolean {
    return this.current !== undefined && !this.current.signal.aborted;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closeController.abort(new RecipeClosed(`leader selector ${this.path}`));
    this.interruptLeadership();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    try {
      do {
        let hold;
        try {
          hold = await this.mutex.acquire({ signal: this.closeController.signal });
        } catch (error) {
          if (this.closed) return;
          this.errorListeners.emit(error);
          failures++;
          if (failures >= (this.options.maxConsecutiveFailures ?? 100)) {
            this.errorListeners.emit(new RetriesExhausted(`leader selector ${this.path}`, failures, { cause: error }));
            return;
          }
          // The session may be replaced: wait a little before queueing again.
          await new Deadline(this.env.clock, "requeue", { signal: this.closeController.signal }).delay(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)) + this.env.random.int(100)).catch(() => undefined);
          continue;
        }
        failures = 0;
        const controller = new AbortController();
        this.current = controller;
        const onLost = (): void => controller.abort(hold.signal.reason);
        if (hold.signal.aborted) onLost();
        else hold.signal.addEventListener("abort", onLost, { once: true });
        this.terms++;
        try {
          await this.onLeadership({ fencingToken: hold.fencingToken, path: hold.path, signal: controller.signal });
        } catch (error) {
          this.errorListeners.emit(error);
        } finally {
          hold.signal.removeEventListener("abort", onLost);
          controller.abort(new Error("term ended"));
          this.current = undefined;
          await this.mutex.release().catch((error: unknown) => this.errorListeners.emit(error));
        }
      } while ((this.options.autoRequeue ?? true) && !this.closed && this.sessions.current().state !== "closed");
    } finally {
      this.running = false;
    }
  }
}
