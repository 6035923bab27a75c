/**
 * Whole-system simulation in CI: >= 200 seeds (3- and 5-node ensembles, swarm-drawn
 * fault mixes), every checker on; the same seed replays to the same trace hash.
 */
import { describe, expect, it } from "vitest";
import { replayCommand } from "./system-main.ts";
import { FaultKind, runSystemSim } from "./system-sim.ts";

const SEEDS = 200;
const BATCHES = 4;

describe("whole-system simulation", () => {
  const kinds = new Set<string>();
  const sizes = new Set<number>();
  let operations = 0;
  for (let batch = 0; batch < BATCHES; batch++) {
    const first = 1 + (batch * SEEDS) / BATCHES;
    const last = ((batch + 1) * SEEDS) / BATCHES;
    it(`seeds ${first}..${last} keep every safety invariant and recover after healing`, async () => {
      const failures: string[] = [];
      for (let seed = first; seed <= last; seed++) {
        const result = await runSystemSim({ seed, safetyMs: 2_500 });
        for (const kind of Object.keys(result.faults)) kinds.add(kind);
        sizes.add(result.nodes);
        operations += result.operationsChecked;
        if (!result.ok) failures.push(`seed ${seed}: ${result.violations.map((v) => `[${v.checker}] ${v.message}`).join("\n  ")}\n  replay: ${replayCommand(result, { safetyMs: 2_500 })}`);
      }
      expect(failures).toEqual([]);
    }, 240_000);
  }

  it("drew both ensemble sizes and every fault kind across the campaign", () => {
    expect([...sizes].sort()).toEqual([3, 5]);
    expect([...kinds].sort()).toEqual(Object.values(FaultKind).sort());
    expect(operations).toBeGreaterThan(SEEDS * 100);
  });

  it("the same seed gives the same trace hash and results; another seed a different one", async () => {
    const a = await runSystemSim({ seed: 4242, safetyMs: 1_500 });
    const b = await runSystemSim({ seed: 4242, safetyMs: 1_500 });
    const c = await runSystemSim({ seed: 4243, safetyMs: 1_500 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.workload).toEqual(a.workload);
    expect(b.faults).toEqual(a.faults);
    expect(c.traceHash).not.toBe(a.traceHash);
    expect(replayCommand(a, {})).toBe("pnpm sim --seed 4242");
  }, 60_000);

  it("pinned seeds found by longer campaigns stay fixed", async () => {
    // 103050: a node crashed with createSession proposals in flight; after its restart an old entry
    // (origin [nodeId, ref] with refs restarting at 1) matched a new client's connection, two clients
    // shared one session, and a create was answered with another client's write result (not linearizable).
    const result = await runSystemSim({ seed: 103050 });
    expect(result.violations.map((v) => `[${v.checker}] ${v.message}`)).toEqual([]);
    // 200194: a client resumed its session, took the "connected" message's zxid as seen, and lost the
    // connection before the missed watch event that follows it arrived; the next node, told that zxid,
    // skipped the event and a one-shot watch on a changed node never fired.
    const resumed = await runSystemSim({ seed: 200194, nodes: 5, safetyMs: 30_000 });
    expect(resumed.violations.map((v) => `[${v.checker}] ${v.message}`)).toEqual([]);
  }, 60_000);
});
