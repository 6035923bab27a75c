import type { Clock, TimerHandle } from "./env.js";

/**
 * The real clock: monotonic time from performance.now(), wall time from
 * Date.now(), timers from setTimeout. Timers are unref'd so a pending timer
 * never keeps a finished process alive.
 */
export class LiveClock implements Clock {
  private nextTimerId = 1;
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.nextTimerId++;
    const timeout = setTimeout(
      () => {
        this.timers.delete(id);
        fn();
      },
      Math.max(0, delayMs),
    );
    timeout.unref();
    this.timers.set(id, timeout);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timeout = this.timers.get(handle.id);
    if (timeout === undefined) return;
    clearTimeout(timeout);
    this.timers.delete(handle.id);
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }
}
