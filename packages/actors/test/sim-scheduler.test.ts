import { describe, expect, it } from "vitest";
import { SimQueueFull, SimScheduler } from "@corral/actors";

/** A random workload: events that spawn follow-ups with random delays and labels. */
function runWorkload(seed: number): { hash: string; log: string[] } {
  const sim = new SimScheduler(seed);
  const random = sim.random.fork("workload");
  const log: string[] = [];
  let budget = 2000;
  const spawn = (name: string): void => {
    if (budget-- <= 0) return;
    sim.after(random.int(50), `ev:${name}`, () => {
      log.push(`${sim.now()}:${name}`);
      const children = random.int(3);
      for (let i = 0; i < children; i++) spawn(`${name}.${i}`);
    });
  };
  for (let i = 0; i < 10; i++) spawn(`root${i}`);
  sim.runFor(1_000_000);
  return { hash: sim.traceHash(), log };
}

describe("SimScheduler", () => {
  it("orders events by time, then by insertion", () => {
    const sim = new SimScheduler(1);
    const seen: string[] = [];
    sim.after(10, "b", () => seen.push("b10"));
    sim.after(5, "a", () => seen.push("a5"));
    sim.after(10, "c", () => seen.push("c10"));
    sim.after(0, "d", () => {
      seen.push("d0");
      sim.schedule(() => seen.push("d0-exec"));
    });
    sim.schedule(() => seen.push("exec0"));
    sim.runFor(100);
    expect(seen).toEqual(["d0", "exec0", "d0-exec", "a5", "b10", "c10"]);
    expect(sim.now()).toBe(100);
    expect(sim.pendingEvents).toBe(0);
  });

  it("cancels events and reports pending counts", () => {
    const sim = new SimScheduler(1);
    const seen: string[] = [];
    const handle = sim.after(5, "x", () => seen.push("x"));
    sim.after(6, "y", () => seen.push("y"));
    expect(sim.pendingEvents).toBe(2);
    sim.cancel(handle);
    sim.cancel(handle);
    expect(sim.pendingEvents).toBe(1);
    expect(sim.step()).toBe(true);
    expect(sim.step()).toBe(false);
    expect(seen).toEqual(["y"]);
    expect(sim.now()).toBe(6);
  });

  it("runUntil stops when the predicate holds, or reports false at the deadline", () => {
    const sim = new SimScheduler(1);
    let count = 0;
    const tick = (): void => {
      count++;
      sim.after(10, "tick", tick);
    };
    sim.after(10, "tick", tick);
    expect(sim.runUntil(() => count >= 5, 1000)).toBe(true);
    expect(sim.now()).toBe(50);
    expect(sim.runUntil(() => count >= 1000, 100)).toBe(false);
    expect(sim.now()).toBe(150);
    expect(count).toBe(15);
  });

  it("gives each node a clock with drift and offset; timers fire on local time", () => {
    const sim = new SimScheduler(1);
    const fast = sim.clockFor("fast", { driftPpm: 100_000, offsetMs: 5 });
    const plain = sim.clockFor("plain");
    const fired: [string, number][] = [];
    fast.setTimer(1100, () => fired.push(["fast", sim.now()]));
    plain.setTimer(1000, () => fired.push(["plain", sim.now()]));
    const cancelled = plain.setTimer(10, () => fired.push(["cancelled", sim.now()]));
    plain.clearTimer(cancelled);
    sim.runFor(2000);
    expect(fired.map(([name]) => name)).toEqual(["fast", "plain"]);
    expect(fired[0]![1]).toBeCloseTo(1000, 6);
    expect(fast.now()).toBeCloseTo(5 + 2000 * 1.1, 6);
    expect(plain.now()).toBe(2000);
    expect(plain.wallNow()).toBe(sim.wallOriginMs + 2000);
  });

  it("bounds the event queue with an explicit error", () => {
    const sim = new SimScheduler(1, { maxPendingEvents: 3 });
    sim.after(1, "a", () => {});
    sim.after(1, "b", () => {});
    sim.after(1, "c", () => {});
    expect(() => sim.after(1, "d", () => {})).toThrow(SimQueueFull);
    sim.step();
    expect(() => sim.after(1, "d", () => {})).not.toThrow();
  });

  it("same seed gives the same trace; a different seed a different one", () => {
    const first = runWorkload(42);
    const second = runWorkload(42);
    const other = runWorkload(43);
    expect(first.log.length).toBeGreaterThan(100);
    expect(second.hash).toBe(first.hash);
    expect(second.log).toEqual(first.log);
    expect(other.hash).not.toBe(first.hash);
  });

  it("forked random streams are deterministic per label", () => {
    const a = new SimScheduler(7).random.fork("x");
    const b = new SimScheduler(7).random.fork("x");
    const c = new SimScheduler(7).random.fork("y");
    const draw = (r: { int(n: number): number }): number[] => Array.from({ length: 8 }, () => r.int(1000));
    expect(draw(a)).toEqual(draw(b));
    expect(draw(c)).not.toEqual(draw(new SimScheduler(7).random.fork("x")));
  });
});
