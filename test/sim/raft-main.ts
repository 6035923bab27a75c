/**
 * `pnpm sim raft [--seeds N] [--seed S] [--first F] [--nodes 3|5] [--planted-bug commitWithoutQuorum]`
 * Runs seeded Raft simulations; a failing seed prints the one command that replays it.
 */
import { runRaftSim, type RaftSimOptions, type RaftSimResult } from "./raft-sim.ts";

function parse(args: string[]): { seeds: number[]; nodes?: 3 | 5; bug?: "commitWithoutQuorum"; verbose: boolean } | string {
  let count = 100;
  let first = 1;
  let single: number | null = null;
  let nodes: 3 | 5 | undefined;
  let bug: "commitWithoutQuorum" | undefined;
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    const num = () => {
      const n = Number(v);
      i++;
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${a} needs a non-negative integer`);
      return n;
    };
    try {
      if (a === "--seeds") count = num();
      else if (a === "--seed") single = num();
      else if (a === "--first") first = num();
      else if (a === "--nodes") {
        const n = num();
        if (n !== 3 && n !== 5) return "--nodes must be 3 or 5";
        nodes = n;
      } else if (a === "--planted-bug") {
        if (v !== "commitWithoutQuorum") return "--planted-bug must be commitWithoutQuorum";
        bug = v;
        i++;
      } else if (a === "--verbose") verbose = true;
      else return `unknown argument ${a}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  const seeds = single !== null ? [single] : Array.from({ length: count }, (_, i) => first + i);
  return { seeds, verbose, ...(nodes === undefined ? {} : { nodes }), ...(bug === undefined ? {} : { bug }) };
}

export function replayCommand(r: RaftSimResult, options: Pick<RaftSimOptions, "nodes" | "plantedBug">): string {
  const extra = `${options.nodes === undefined ? "" : ` --nodes ${options.nodes}`}${options.plantedBug === undefined ? "" : ` --planted-bug ${options.plantedBug}`}`;
  return `pnpm sim raft --seed ${r.seed}${extra}`;
}

export async function main(args: string[]): Promise<number> {
  const p = parse(args);
  if (typeof p === "string") {
    process.stderr.write(`${p}\nusage: pnpm sim raft [--seeds N] [--first F] [--seed S] [--nodes 3|5] [--planted-bug commitWithoutQuorum] [--verbose]\n`);
    return 2;
  }
  const started = performance.now();
  let failed = 0;
  const kinds = new Set<string>();
  for (const seed of p.seeds) {
    const options: RaftSimOptions = { seed, ...(p.nodes === undefined ? {} : { nodes: p.nodes }), ...(p.bug === undefined ? {} : { plantedBug: p.bug }) };
    const r = runRaftSim(options);
    for (const f of r.faults) kinds.add(f);
    if (p.verbose || p.seeds.length === 1) {
      process.stdout.write(`seed ${seed}: ${r.ok ? "ok" : "FAIL"} nodes=${r.nodes} trace=${r.traceHash} faults=${r.faults.join(",")} ${JSON.stringify(r.stats)}\n`);
    }
    if (!r.ok) {
      failed++;
      process.stdout.write(`FAIL seed ${seed} (${r.nodes} nodes, tick ${r.failedAtTick}): ${r.failure}\n  replay: ${replayCommand(r, options)}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`raft sim: ${p.seeds.length - failed}/${p.seeds.length} seeds passed in ${seconds.toFixed(1)} s; fault kinds: ${[...kinds].sort().join(", ")}\n`);
  return failed === 0 ? 0 : 1;
}
