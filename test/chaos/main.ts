/**
 * `pnpm chaos [--minutes M] [--scenario NAME] [--duration-ms MS]`: chaos with real
 * processes. Cycles through the scenarios until the time is up (default: each
 * scenario once). A failing run keeps its logs and histories under
 * test/.artifacts/chaos/<timestamp>-<scenario>/.
 */
import { SCENARIOS, runScenario, type ScenarioResult } from "./scenarios.ts";

function parse(args: string[]): { minutes: number | undefined; names: string[]; durationMs: number } | string {
  let minutes: number | undefined;
  let durationMs = 15_000;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[++i];
    if (a === "--minutes" && Number(v) > 0) minutes = Number(v);
    else if (a === "--duration-ms" && Number(v) > 0) durationMs = Number(v);
    else if (a === "--scenario" && SCENARIOS.some((s) => s.name === v)) names.push(v!);
    else return `bad argument ${a} ${v ?? ""}`;
  }
  return { minutes, names, durationMs };
}

const parsed = parse(process.argv.slice(2));
if (typeof parsed === "string") {
  process.stderr.write(`${parsed}\nusage: pnpm chaos [--minutes M] [--scenario ${SCENARIOS.map((s) => s.name).join("|")}]... [--duration-ms MS]\n`);
  process.exit(2);
}
const chosen = parsed.names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => parsed.names.includes(s.name));
const deadline = parsed.minutes === undefined ? undefined : Date.now() + parsed.minutes * 60_000;
const results: ScenarioResult[] = [];
for (let i = 0; deadline === undefined ? i < chosen.length : Date.now() < deadline; i++) {
  const scenario = chosen[i % chosen.length]!;
  process.stdout.write(`scenario ${scenario.name} ...\n`);
  const result = await runScenario(scenario, { durationMs: parsed.durationMs });
  results.push(result);
  process.stdout.write(`  ${result.ok ? "ok" : "FAILED"}: ${result.operationsChecked} operations checked, faults ${JSON.stringify(result.faults)}\n`);
  for (const v of result.violations) process.stdout.write(`  [${v.checker}] ${v.message}\n`);
  if (result.artifacts !== undefined) process.stdout.write(`  artifacts kept in ${result.artifacts}\n`);
}
const faults: Record<string, number> = {};
for (const r of results) for (const [k, n] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + n;
const failed = results.filter((r) => !r.ok).length;
process.stdout.write(`\nchaos: ${results.length} scenarios run, ${results.reduce((n, r) => n + r.operationsChecked, 0)} operations checked, ${failed} failed\n`);
process.stdout.write(`faults injected by kind: ${Object.entries(faults).sort().map(([k, n]) => `${k}=${n}`).join(" ") || "none"}\n`);
process.exitCode = failed === 0 ? 0 : 1;
