/**
 * `pnpm sim [system] [--seeds N] [--first F] [--seed S] [--nodes 3|5] [--safety-ms MS] [--no-buggify] [--verbose]`
 * Whole-system simulation campaign; a failing seed prints the one command that replays it.
 */
import { runSystemSim, type SystemSimOptions, type SystemSimResult } from "./system-sim.ts";

interface Parsed {
  readonly seeds: number[];
  readonly nodes?: 3 | 5;
  readonly safetyMs?: number;
  readonly buggify: boolean;
  readonly verbose: boolean;
}

function parse(args: string[]): Parsed | string {
  let count = 100;
  let first = 1;
  let single: number | null = null;
  let nodes: 3 | 5 | undefined;
  let safetyMs: number | undefined;
  let buggify = true;
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = (): number => {
      const n = Number(args[++i]);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${a} needs a non-negative integer`);
      return n;
    };
    try {
      if (a === "--seeds") count = num();
      else if (a === "--seed") single = num();
      else if (a === "--first") first = num();
      else if (a === "--safety-ms") safetyMs = num();
      else if (a === "--nodes") {
        const n = num();
        if (n !== 3 && n !== 5) return "--nodes must be 3 or 5";
        nodes = n;
      } else if (a === "--no-buggify") buggify = false;
      else if (a === "--verbose") verbose = true;
      else return `unknown argument ${a}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  const seeds = single !== null ? [single] : Array.from({ length: count }, (_, i) => first + i);
  return { seeds, buggify, verbose, ...(nodes === undefined ? {} : { nodes }), ...(safetyMs === undefined ? {} : { safetyMs }) };
}

/** The command that replays one run exactly. */
export function replayCommand(result: Pick<SystemSimResult, "seed">, options: Pick<SystemSimOptions, "nodes" | "safetyMs" | "buggify">): string {
  const extra = [
    options.nodes === undefined ? "" : ` --nodes ${options.nodes}`,
    options.safetyMs === undefined ? "" : ` --safety-ms ${options.safetyMs}`,
    options.buggify === false ? " --no-buggify" : "",
  ].join("");
  return `pnpm sim --seed ${result.seed}${extra}`;
}

export async function main(args: string[]): Promise<number> {
  const p = parse(args);
  if (typeof p === "string") {
    process.stderr.write(`${p}\nusage: pnpm sim [system] [--seeds N] [--first F] [--seed S] [--nodes 3|5] [--safety-ms MS] [--no-buggify] [--verbose]\n`);
    return 2;
  }
  const started = performance.now();
  const faults: Record<string, number> = {};
  const buggified: Record<string, number> = {};
  const attacks: Record<string, number> = {};
  let operations = 0;
  let failed = 0;
  let run = 0;
  for (const seed of p.seeds) {
    const options: SystemSimOptions = { seed, buggify: p.buggify, ...(p.nodes === undefined ? {} : { nodes: p.nodes }), ...(p.safetyMs === undefined ? {} : { safetyMs: p.safetyMs }) };
    let result: SystemSimResult;
    try {
      result = await runSystemSim(options);
    } catch (error) {
      // The harness itself broke (e.g. a runaway event queue): still a failing seed to replay.
      failed++;
      run++;
      process.stdout.write(`\nFAILED seed ${seed}: the run threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n  replay: ${replayCommand({ seed }, options)}\n\n`);
      continue;
    }
    run++;
    operations += result.operationsChecked;
    for (const [kind, n] of Object.entries(result.faults)) faults[kind] = (faults[kind] ?? 0) + n;
    for (const [site, n] of Object.entries(result.buggifyFired)) buggified[site] = (buggified[site] ?? 0) + n;
    for (const [attack, n] of Object.entries(result.adversary)) attacks[attack] = (attacks[attack] ?? 0) + n;
    if (p.verbose || p.seeds.length === 1) {
      process.stdout.write(`seed ${seed}: ${result.ok ? "ok" : "FAILED"} nodes=${result.nodes} trace=${result.traceHash} ops=${result.operationsChecked} sim=${result.simulatedMs}ms events=${result.events} workload=${JSON.stringify(result.workload)} kinds=[${result.enabledKinds.join(",")}]\n`);
    }
    if (!result.ok) {
      failed++;
      process.stdout.write(`\nFAILED seed ${seed} (nodes ${result.nodes}, trace ${result.traceHash})\n`);
      process.stdout.write(`  faults: ${JSON.stringify(result.faults)}; buggify fired: ${JSON.stringify(result.buggifyFired)} (replay with --no-buggify to see whether a planted fault point is needed)\n`);
      for (const v of result.violations) process.stdout.write(`  [${v.checker}] ${v.message}\n`);
      process.stdout.write(`  replay: ${replayCommand(result, options)}\n\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\nwhole-system simulation: ${run} seeds in ${seconds.toFixed(1)} s, ${operations} operations checked, ${failed} failed\n`);
  process.stdout.write(`faults injected by kind: ${Object.entries(faults).sort().map(([k, n]) => `${k}=${n}`).join(" ") || "none"}\n`);
  process.stdout.write(`forged frames injected by attack: ${Object.entries(attacks).sort().map(([k, n]) => `${k}=${n}`).join(" ") || "none"}\n`);
  process.stdout.write(`buggify fired: ${Object.entries(buggified).sort().map(([k, n]) => `${k}=${n}`).join(" ") || "none"}\n`);
  return failed === 0 ? 0 : 1;
}
