import type { Random } from "@corral/actors";
import { invariant } from "./errors.js";
import type { DurableBatch, DurableLog, Entry, HardState, RecoveredState, Snapshot } from "./types.js";

/** The in-memory log refused a write: too many unsynced writes are queued, or it was closed/crashed. */
export class MemoryLogUnavailableError extends Error {
  readonly _tag = "MemoryLogUnavailable";
  readonly code = "MEMORY_LOG_UNAVAILABLE";
  constructor(reason: string) {
    super(`memory durable log: ${reason}`);
    this.name = "MemoryLogUnavailableError";
  }
}

export interface MemoryDurableLogOptions {
  /**
   * true (default): every write is durable as soon as it is queued (the promise
   * resolves on the next microtask). false: writes stay volatile until the
   * harness calls `syncThrough`/`syncAll`, so a simulated crash can lose them.
   */
  readonly autoSync?: boolean;
  /** Bound on unsynced writes (default 4096). */
  readonly maxPendingWrites?: number;
}

export interface CrashOptions {
  readonly loseUnsynced: boolean;
  /** Keep a prefix of the first unsynced batch's entries, as a torn WAL tail truncated at recovery would. */
  readonly tornTail?: boolean;
  /** Picks how many records of the torn batch survive; default: all but the last. */
  readonly random?: Random;
}

type Write =
  | { readonly kind: "batch"; readonly batch: DurableBatch }
  | { readonly kind: "snapshot"; readonly snapshot: Snapshot }
  | { readonly kind: "compact"; readonly index: number };

interface Pending {
  readonly ticket: number;
  readonly write: Write;
  readonly resolve: () => void;
}

/**
 * DurableLog in memory (tests, simulation). A write is durable once synced;
 * `crash()` discards what was not, optionally leaving a torn tail.
 */
export class MemoryDurableLog implements DurableLog {
  private hardState: HardState | null = null;
  private snapshot: Snapshot | null = null;
  private entries: Entry[] = [];
  private pending: Pending[] = [];
  private nextTicket = 1;
  private syncedTicket = 0;
  private readonly autoSync: boolean;
  private readonly maxPendingWrites: number;
  /** Counts of fsync-equivalents (one per synced write batch) for benchmarks. */
  syncCount = 0;

  constructor(options: MemoryDurableLogOptions = {}) {
    this.autoSync = options.autoSync ?? true;
    this.maxPendingWrites = options.maxPendingWrites ?? 4096;
  }

  load(): Promise<RecoveredState> {
    return Promise.resolve(this.recovered());
  }

  /** Synchronous view of the durable state (what a restart would see). */
  recovered(): RecoveredState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }

  save(batch: DurableBatch): Promise<void> {
    return this.enqueuePromise({ kind: "batch", batch });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.enqueuePromise({ kind: "snapshot", snapshot });
  }

  compact(index: number): Promise<void> {
    return this.enqueuePromise({ kind: "compact", index });
  }

  close(): Promise<void> {
    this.syncAll();
    return Promise.resolve();
  }

  // ---- synchronous API for the deterministic simulation (no promises, no microtasks)

  /** Queues a batch; returns a ticket to pass to `syncThrough`. Throws MemoryLogUnavailableError when full. */
  write(batch: DurableBatch): number {
    return this.enqueue({ kind: "batch", batch }, () => {});
  }

  writeSnapshot(snapshot: Snapshot): number {
    return this.enqueue({ kind: "snapshot", snapshot }, () => {});
  }

  writeCompact(index: number): number {
    return this.enqueue({ kind: "compact", index }, () => {});
  }

  get lastTicket(): number {
    return this.nextTicket - 1;
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  /** Makes every write up to `ticket` durable (one simulated fsync). */
  syncThrough(ticket: number): void {
    let n = 0;
    while (n < this.pending.length && (this.pending[n] as Pending).ticket <= ticket) {
      const p = this.pending[n] as Pending;
      this.applyDurably(p.write);
      this.syncedTicket = p.ticket;
      n++;
    }
    if (n === 0) return;
    this.syncCount++;
    const done = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    for (const p of done) p.resolve();
  }

  syncAll(): void {
    this.syncThrough(this.nextTicket - 1);
  }

  /** Simulated power loss. Unsynced writes are lost (their promises never resolve); a torn tail keeps a prefix of records. */
  crash(options: CrashOptions): void {
    if (!options.loseUnsynced) {
      this.syncAll();
      return;
    }
    const first = this.pending[0];
    if (options.tornTail === true && first !== undefined && first.write.kind === "batch" && first.write.batch.entries.length > 0) {
      const entries = first.write.batch.entries;
      const keep = options.random === undefined ? entries.length - 1 : options.random.int(entries.length);
      // The records before the torn one were written completely; the hard state record (written last) was not.
      if (keep > 0) this.applyDurably({ kind: "batch", batch: { entries: entries.slice(0, keep) } });
    }
    this.pending = [];
  }

  private enqueuePromise(write: Write): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        const ticket = this.enqueue(write, resolve);
        if (this.autoSync) queueMicrotask(() => this.syncThrough(ticket));
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  private enqueue(write: Write, resolve: () => void): number {
    if (this.pending.length >= this.maxPendingWrites) throw new MemoryLogUnavailableError(`${this.pending.length} unsynced writes queued`);
    const ticket = this.nextTicket++;
    this.pending.push({ ticket, write, resolve });
    return ticket;
  }

  private applyDurably(w: Write): void {
    switch (w.kind) {
      case "batch": {
        const first = w.batch.entries[0];
        if (first !== undefined) {
          const base = this.snapshot?.meta.index ?? 0;
          invariant(first.index > base, () => `batch at ${first.index} below snapshot ${base}`);
          const lastIndex = base + this.entries.length;
          invariant(first.index <= lastIndex + 1, () => `batch at ${first.index} leaves a gap after ${lastIndex}`);
          this.entries.length = first.index - base - 1;
          for (const e of w.batch.entries) this.entries.push(e);
        }
        if (w.batch.hardState !== undefined) this.hardState = w.batch.hardState;
        return;
      }
      case "snapshot": {
        const s = w.snapshot;
        const base = this.snapshot?.meta.index ?? 0;
        if (s.meta.index <= base) return;
        const at = this.entries[s.meta.index - base - 1];
        this.entries = at !== undefined && at.term === s.meta.term ? this.entries.slice(s.meta.index - base) : [];
        this.snapshot = s;
        return;
      }
      case "compact":
        // saveSnapshot already dropped the entries a snapshot covers; entries above it are never dropped.
        return;
    }
  }
}
