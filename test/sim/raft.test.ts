import { describe, expect, it } from "vitest";
import { FaultKind, runRaftSim } from "./raft-sim.ts";
import { replayCommand } from "./raft-main.ts";

describe("Raft deterministic simulation", () => {
  it("300 seeds over 3- and 5-node clusters and every fault kind keep all safety invariants and reach liveness", () => {
    const failures: string[] = [];
    const kinds = new Set<string>();
    const sizes = new Set<number>();
    for (let seed = 1; seed <= 300; seed++) {
      const r = runRaftSim({ seed });
      r.faults.forEach((f) => kinds.add(f));
      sizes.add(r.nodes);
      if (!r.ok) failures.push(`${r.failure}\n  replay: ${replayCommand(r, {})}`);
    }
    expect(failures).toEqual([]);
    expect([...sizes].sort()).toEqual([3, 5]);
    expect([...kinds].sort()).toEqual(Object.values(FaultKind).sort());
  });

  it("the same seed gives the same trace hash; another seed a different one", () => {
    const a = runRaftSim({ seed: 4242 });
    const b = runRaftSim({ seed: 4242 });
    const c = runRaftSim({ seed: 4243 });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.stats).toEqual(b.stats);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it("catches a planted bug (leader commits without a quorum) and prints the replay command", () => {
    const caught = [];
    for (let seed = 1; seed <= 10; seed++) {
      const r = runRaftSim({ seed, plantedBug: "commitWithoutQuorum" });
      if (!r.ok) caught.push(r);
    }
    expect(caught.length).toBeGreaterThan(0);
    const first = caught[0];
    expect(first?.failure).toMatch(/committed entry|leader completeness|state machine safety|log matching/);
    if (first !== undefined) expect(replayCommand(first, { plantedBug: "commitWithoutQuorum" })).toBe(`pnpm sim raft --seed ${first.seed} --planted-bug commitWithoutQuorum`);
  });
});
