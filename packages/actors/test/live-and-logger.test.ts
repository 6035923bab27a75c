import { describe, expect, it } from "vitest";
import { LiveClock, createLogger, liveExecutor, memoryLogger, nullLogger } from "@corral/actors";

describe("LiveClock and loggers", () => {
  it("LiveClock is monotonic, fires and clears timers", async () => {
    const clock = new LiveClock();
    const before = clock.now();
    expect(clock.wallNow()).toBeGreaterThan(1_600_000_000_000);
    const fired = await new Promise<boolean>((resolve) => {
      const cleared = clock.setTimer(1, () => resolve(false));
      clock.clearTimer(cleared);
      clock.setTimer(2, () => resolve(true));
    });
    expect(fired).toBe(true);
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.pendingTimers).toBe(0);
  });

  it("liveExecutor runs tasks after the current turn, in order", async () => {
    const order: number[] = [];
    await new Promise<void>((resolve) => {
      liveExecutor(() => order.push(1));
      liveExecutor(() => {
        order.push(2);
        resolve();
      });
      order.push(0);
    });
    expect(order).toEqual([0, 1, 2]);
  });

  it("memoryLogger keeps bounded records with child bindings; nullLogger discards", () => {
    const logger = memoryLogger({ maxRecords: 2 });
    logger.child({ node: "n1" }).warn({ a: 1 }, "first");
    logger.info({ b: 2 }, "second");
    logger.error({ c: 3 });
    expect(logger.records).toEqual([
      { level: "info", msg: "second", fields: { b: 2 } },
      { level: "error", msg: undefined, fields: { c: 3 } },
    ]);
    expect(logger.discarded).toBe(1);
    nullLogger.child({ x: 1 }).fatal({}, "ignored");
  });

  it("createLogger writes pino JSON lines", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", name: "corral", destination: { write: (line) => void lines.push(line) } }).child({ node: "n1" });
    logger.debug({ term: 3 }, "hello");
    logger.trace({}, "below level");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 20, name: "corral", node: "n1", term: 3, msg: "hello" });
  });
});
