import type { Clock, TimerHandle } from "./env.js";
import { InvariantViolation, SimQueueFull, invariant } from "./errors.js";
import { SeededRandom } from "./random.js";

/**
 * Deterministic discrete-event simulator (DESIGN.md §3, §10). One seed drives
 * virtual time, every node's clock and timers, and (through `random.fork`)
 * every random decision, so a whole run replays from its seed.
 *
 * Events are ordered by (time, insertion sequence): two events at the same
 * virtual time run in the order they were scheduled. Every executed event
 * folds its label and time into a running FNV-1a hash (`traceHash()`), so a
 * test can assert that the same seed produced the same trace.
 */

export interface SimSchedulerOptions {
  /** Bound on live pending events; exceeding it throws SimQueueFull (a runaway simulation is a bug). */
  readonly maxPendingEvents?: number;
  /**
   * Bound on events run without virtual time advancing; exceeding it throws an
   * InvariantViolation (a livelock: something reschedules itself at "now" forever).
   */
  readonly maxEventsPerInstant?: number;
  /** Wall-clock origin (ms since epoch) reported by the simulated clocks' wallNow(). */
  readonly wallOriginMs?: number;
  /** How `schedule` (the actor systems' executor) places tasks in time; default "instant" (see ExecutorMode). */
  readonly executorMode?: ExecutorMode;
}

/**
 * Where `schedule` puts an executor task (an actor system's mailbox drain).
 *
 * - `instant` (default): at the current virtual time, after work already
 *   queued for it. A backlog drains completely before time moves, so a timer
 *   never fires between two drains of one backlog.
 * - `interleaved`: after a seeded delay in [0, drainDelayMsMax] ms, never
 *   before an earlier task (tasks stay FIFO, like setImmediate). Timers that
 *   fall due meanwhile fire between drains, as they do live, where a drain
 *   takes real time and the event loop runs due timers before the next
 *   setImmediate task: a timer can meet a mailbox that a flood has filled.
 *   The delays come from a stream of their own (seed-derived), so switching
 *   the mode on shifts no other random decision of the run.
 */
export type ExecutorMode = { readonly kind: "instant" } | { readonly kind: "interleaved"; readonly drainDelayMsMax: number };

export interface NodeClockOptions {
  /** Clock rate error in parts per million: +100 runs 0.01% fast. Must be > -1e6. */
  readonly driftPpm?: number;
  /** Added to this node's monotonic and wall readings. */
  readonly offsetMs?: number;
}

/** A handle for an event that may still be cancelled. */
export interface SimEventHandle {
  readonly id: number;
}

interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly label: string;
  fn: (() => void) | undefined;
}

export const DEFAULT_MAX_PENDING_EVENTS = 1_000_000;
/** 2024-01-01T00:00:00Z */
const DEFAULT_WALL_ORIGIN_MS = 1_704_067_200_000;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class SimScheduler {
  readonly random: SeededRandom;
  readonly maxPendingEvents: number;
  readonly wallOriginMs: number;
  readonly maxEventsPerInstant: number;
  private eventsThisInstant = 0;
  private executorMode: ExecutorMode = { kind: "instant" };
  /** The interleaved mode's delays; created on first use so the instant mode draws nothing. */
  private executorRandom: SeededRandom | undefined;
  /** The latest time an executor task was placed at (interleaved tasks stay FIFO). */
  private lastExecutorTime = 0;

  private currentTime = 0;
  private nextSeq = 0;
  private heap: SimEvent[] = [];
  private live = 0;
  private readonly byId = new Map<number, SimEvent>();
  private hash = FNV_OFFSET;
  private executed = 0;
  private running = false;

  constructor(
    readonly seed: number,
    options: SimSchedulerOptions = {},
  ) {
    this.random = new SeededRandom(seed);
    this.maxPendingEvents = options.maxPendingEvents ?? DEFAULT_MAX_PENDING_EVENTS;
    this.wallOriginMs = options.wallOriginMs ?? DEFAULT_WALL_ORIGIN_MS;
    this.maxEventsPerInstant = options.maxEventsPerInstant ?? 10_000_000;
    invariant(this.maxPendingEvents > 0, "maxPendingEvents must be positive");
    if (options.executorMode !== undefined) this.setExecutorMode(options.executorMode);
  }

  /** Switch how executor tasks are placed in time (see ExecutorMode); affects tasks scheduled from now on. */
  setExecutorMode(mode: ExecutorMode): void {
    if (mode.kind === "interleaved") {
      invariant(Number.isFinite(mode.drainDelayMsMax) && mode.drainDelayMsMax >= 0, `sim: drainDelayMsMax must be finite and >= 0, got ${mode.drainDelayMsMax}`);
      this.executorRandom ??= new SeededRandom((this.seed ^ 0xd4a1e5) >>> 0);
    }
    this.executorMode = mode;
  }

  get currentExecutorMode(): ExecutorMode {
    return this.executorMode;
  }

  /** Virtual milliseconds since the start of the simulation. */
  now(): number {
    return this.currentTime;
  }

  /** Live (not cancelled, not yet run) events. */
  get pendingEvents(): number {
    return this.live;
  }

  /** Events executed so far. */
  get executedEvents(): number {
    return this.executed;
  }

  /** Run `fn` at virtual time now + delayMs. */
  after(delayMs: number, label: string, fn: () => void): SimEventHandle {
    invariant(Number.isFinite(delayMs) && delayMs >= 0, `sim: delay must be finite and >= 0, got ${delayMs}`);
    return this.at(this.currentTime + delayMs, label, fn);
  }

  /** Run `fn` at absolute virtual time `timeMs` (clamped to now). */
  at(timeMs: number, label: string, fn: () => void): SimEventHandle {
    invariant(Number.isFinite(timeMs), `sim: event time must be finite, got ${timeMs}`);
    if (this.live >= this.maxPendingEvents) throw new SimQueueFull(this.maxPendingEvents);
    const event: SimEvent = { time: Math.max(timeMs, this.currentTime), seq: this.nextSeq++, label, fn };
    this.heapPush(event);
    this.live++;
    this.byId.set(event.seq, event);
    return { id: event.seq };
  }

  /**
   * The actor systems' executor. Instant mode: run `fn` at the current virtual
   * time, after work already queued for it. Interleaved mode: after a seeded
   * delay, never before a task scheduled earlier (see ExecutorMode).
   */
  schedule = (fn: () => void): void => {
    const mode = this.executorMode;
    if (mode.kind === "instant") {
      this.at(this.currentTime, "exec", fn);
      return;
    }
    const delayMs = this.executorRandom!.next() * mode.drainDelayMsMax;
    const time = Math.max(this.currentTime + delayMs, this.lastExecutorTime);
    this.lastExecutorTime = time;
    this.at(time, "exec", fn);
  };

  /** Cancel a pending event; no-op if it already ran or was cancelled. */
  cancel(handle: SimEventHandle): void {
    const event = this.byId.get(handle.id);
    if (event === undefined) return;
    this.byId.delete(handle.id);
    event.fn = undefined;
    this.live--;
    // Cancelled events stay in the heap as tombstones; compact when they dominate.
    if (this.heap.length > 1024 && this.heap.length > 4 * this.live) this.compact();
  }

  /** Run the next event. Returns false when nothing is pending. */
  step(): boolean {
    if (this.running) throw new InvariantViolation("sim: step() called from inside an event");
    for (;;) {
      const event = this.heapPop();
      if (event === undefined) return false;
      const fn = event.fn;
      if (fn === undefined) continue;
      if (event.time < this.currentTime) throw new InvariantViolation("sim: time went backwards");
      if (event.time === this.currentTime) {
        if (++this.eventsThisInstant > this.maxEventsPerInstant) {
          throw new InvariantViolation(`sim: livelock: more than ${this.maxEventsPerInstant} events at virtual time ${this.currentTime}`);
        }
      } else {
        this.eventsThisInstant = 1;
      }
      this.currentTime = event.time;
      event.fn = undefined;
      this.byId.delete(event.seq);
      this.live--;
      this.executed++;
      this.mix(event.label, event.time);
      this.running = true;
      try {
        fn();
      } finally {
        this.running = false;
      }
      return true;
    }
  }

  /** Run every event up to now + ms, then set the time to now + ms. Returns events run. */
  runFor(ms: number): number {
    invariant(Number.isFinite(ms) && ms >= 0, `sim: runFor needs a finite ms >= 0, got ${ms}`);
    const until = this.currentTime + ms;
    let count = 0;
    while (this.peekTime() <= until) {
      if (this.step()) count++;
    }
    this.currentTime = until;
    return count;
  }

  /**
   * Run events until `predicate()` holds (checked before each event) or virtual
   * time would pass now + maxMs. Returns whether the predicate held.
   */
  runUntil(predicate: () => boolean, maxMs: number): boolean {
    invariant(Number.isFinite(maxMs) && maxMs >= 0, `sim: runUntil needs a finite maxMs >= 0, got ${maxMs}`);
    const until = this.currentTime + maxMs;
    for (;;) {
      if (predicate()) return true;
      if (this.peekTime() > until) {
        this.currentTime = Math.max(this.currentTime, until);
        return predicate();
      }
      this.step();
    }
  }

  /** Running FNV-1a hash of every executed event's label and time, as 8 hex digits. */
  traceHash(): string {
    return (this.hash >>> 0).toString(16).padStart(8, "0");
  }

  /** A Clock for one simulated node, with optional drift and offset. */
  clockFor(nodeName: string, options: NodeClockOptions = {}): Clock {
    const driftPpm = options.driftPpm ?? 0;
    const offsetMs = options.offsetMs ?? 0;
    invariant(driftPpm > -1_000_000, `sim: driftPpm must be > -1e6, got ${driftPpm}`);
    const rate = 1 + driftPpm / 1_000_000;
    const label = `timer:${nodeName}`;
    const local = (): number => offsetMs + this.currentTime * rate;
    return {
      now: local,
      wallNow: () => this.wallOriginMs + local(),
      setTimer: (delayMs: number, fn: () => void): TimerHandle => {
        invariant(Number.isFinite(delayMs), `sim: timer delay must be finite, got ${delayMs}`);
        return this.after(Math.max(0, delayMs) / rate, label, fn);
      },
      clearTimer: (handle: TimerHandle): void => this.cancel(handle),
    };
  }

  private peekTime(): number {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (top.fn !== undefined) return top.time;
      this.heapPop();
    }
    return Number.POSITIVE_INFINITY;
  }

  private mix(label: string, time: number): void {
    let h = this.hash;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), FNV_PRIME);
    // Time may be fractional (drifting clocks): fold in microseconds.
    const micros = Math.round(time * 1000);
    h = Math.imul(h ^ (micros & 0xffff), FNV_PRIME);
    h = Math.imul(h ^ ((micros >>> 16) & 0xffff), FNV_PRIME);
    h = Math.imul(h ^ Math.floor(micros / 4294967296), FNV_PRIME);
    this.hash = h >>> 0;
  }

  private compact(): void {
    this.heap = this.heap.filter((event) => event.fn !== undefined);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private static less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private heapPush(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!SimScheduler.less(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private heapPop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[start]!;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && SimScheduler.less(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!SimScheduler.less(c, item)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = item;
  }
}
