/**
 * The short chaos scenario CI runs (< 60 s): real redis-server, three `corral node`
 * processes; kill -9 of the leader, a Redis restart and an isolated leader while
 * clients record histories. After healing: acknowledged writes present, histories
 * linearizable, digests equal, no unexpected exit or unhandled rejection.
 */
import { describe, expect, it } from "vitest";
import { mixed, runScenario } from "./scenarios.js";

describe("chaos with real processes", () => {
  it("survives kill -9 of the leader, a Redis restart and an isolated leader", async () => {
    const result = await runScenario(mixed, { durationMs: 0, clients: 3 });
    expect(result.violations).toEqual([]);
    expect(result.operationsChecked).toBeGreaterThan(20);
    expect(result.faults).toEqual({ "kill-9-leader": 1, "redis-kill": 1, "partition-isolate-leader": 1 });
  }, 120_000);
});
