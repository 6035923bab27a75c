/**
 * The determinism boundary (DESIGN.md §3). Everything non-deterministic that
 * an actor, the Raft core or the tree can observe enters through these
 * interfaces. Live implementations wrap the real thing (`clock-live.ts`);
 * simulated ones are driven by one seed (`sim-scheduler.ts`).
 */

/** An opaque handle for a scheduled timer. */
export interface TimerHandle {
  readonly id: number;
}

/** Monotonic time in milliseconds plus timers. */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin. Never goes backwards. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (only the Raft leader stamps entries with it). */
  wallNow(): number;
  /** Run `fn` once after `delayMs` (>= 0). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** A seeded pseudo-random source. Never `Math.random`. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Uniform integer in [min, max] inclusive. */
  intBetween(min: number, max: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** An independent stream derived deterministically from this one and a label. */
  fork(label: string): Random;
}

/** Structured logger; pino-compatible subset. */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
