/**
 * `node --conditions=@corral/source --import tsx test/sim/interleave-main.ts [--seeds N] [--first F] [--drain-delay-ms MS] [--safety-ms MS]`
 *
 * Whole-system simulation campaign in the interleaved executor mode (issue 15
 * item 1): every actor-system drain is delayed by a seeded 0..MS ms, so
 * timers fire between the drains of one backlog as they do live, and a timer
 * can meet a full mailbox. Every checker of the ordinary campaign is on; a
 * failing seed prints the options that replay it.
 */
import { runSystemSim, type SystemSimOptions } from "./system-sim.ts";

function parse(args: string[]): { seeds: number[]; drainDelayMsMax: number; safetyMs?: number } | string {
  let count = 100;
  let first = 1;
  let drainDelayMsMax = 2;
  let safetyMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = Number(args[++i]);
    if (!Number.isFinite(value) || value < 0) return `${flag} needs a non-negative number`;
    if (flag === "--seeds") count = value;
    else if (flag === "--first") first = value;
    else if (flag === "--drain-delay-ms") drainDelayMsMax = value;
    else if (flag === "--safety-ms") safetyMs = value;
    else return `unknown argument ${flag}`;
  }
  return { seeds: Array.from({ length: count }, (_, i) => first + i), drainDelayMsMax, ...(safetyMs === undefined ? {} : { safetyMs }) };
}

async function main(): Promise<number> {
  const parsed = parse(process.argv.slice(2));
  if (typeof parsed === "string") {
    process.stderr.write(`${parsed}\n`);
    return 2;
  }
  const started = performance.now();
  let operations = 0;
  let failed = 0;
  let events = 0;
  const faults: Record<string, number> = {};
  for (const seed of parsed.seeds) {
    const options: SystemSimOptions = {
      seed,
      executorMode: { kind: "interleaved", drainDelayMsMax: parsed.drainDelayMsMax },
      ...(parsed.safetyMs === undefined ? {} : { safetyMs: parsed.safetyMs }),
    };
    try {
      const result = await runSystemSim(options);
      operations += result.operationsChecked;
      events += result.events;
      for (const [kind, n] of Object.entries(result.faults)) faults[kind] = (faults[kind] ?? 0) + n;
      if (!result.ok) {
        failed++;
        process.stdout.write(`FAILED seed ${seed} (nodes ${result.nodes}): ${result.violations.map((v) => `[${v.checker}] ${v.message}`).join("; ")}\n  replay: ${JSON.stringify(options)}\n`);
      }
    } catch (error) {
      failed++;
      process.stdout.write(`FAILED seed ${seed}: the run threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n  replay: ${JSON.stringify(options)}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `interleaved-drain simulation (drainDelayMsMax ${parsed.drainDelayMsMax}): ${parsed.seeds.length} seeds (${parsed.seeds[0]}..${parsed.seeds[parsed.seeds.length - 1]}) in ${seconds.toFixed(1)} s, ${operations} operations checked, ${events} events, ${failed} failed\n`,
  );
  process.stdout.write(`faults injected by kind: ${Object.entries(faults).sort().map(([k, n]) => `${k}=${n}`).join(" ") || "none"}\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
