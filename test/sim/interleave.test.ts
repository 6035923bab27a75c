/**
 * The whole-system simulation in the interleaved executor mode (issue 15
 * item 1): drains are delayed by seeded amounts so timers fire between them,
 * as live. A small CI slice; `test/sim/interleave-main.ts` runs campaigns.
 */
import { describe, expect, it } from "vitest";
import { runSystemSim } from "./system-sim.ts";

const SEEDS = 24;

describe("whole-system simulation with interleaved drains", () => {
  it(`seeds 1..${SEEDS} keep every safety invariant and recover after healing`, async () => {
    const failures: string[] = [];
    let operations = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = await runSystemSim({ seed, safetyMs: 2_500, executorMode: { kind: "interleaved", drainDelayMsMax: 2 } });
      operations += result.operationsChecked;
      if (!result.ok) failures.push(`seed ${seed}: ${result.violations.map((v) => `[${v.checker}] ${v.message}`).join("\n  ")}`);
    }
    expect(failures).toEqual([]);
    expect(operations).toBeGreaterThan(SEEDS * 100);
  }, 240_000);

  it("replays: the same seed gives the same trace in the interleaved mode, and a different one than the instant mode", async () => {
    const a = await runSystemSim({ seed: 4242, safetyMs: 1_500, executorMode: { kind: "interleaved", drainDelayMsMax: 2 } });
    const b = await runSystemSim({ seed: 4242, safetyMs: 1_500, executorMode: { kind: "interleaved", drainDelayMsMax: 2 } });
    const instant = await runSystemSim({ seed: 4242, safetyMs: 1_500 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.workload).toEqual(a.workload);
    expect(instant.traceHash).not.toBe(a.traceHash);
  }, 60_000);
});
