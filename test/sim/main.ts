/**
 * `pnpm sim [raft|system] [--seeds N] [--seed S] ...`: seeded simulation campaigns.
 * Defaults to the whole-system simulator.
 */
const argv = process.argv.slice(2);
const first = argv[0];
const name = first && !first.startsWith("-") ? first : "system";
const args = first && !first.startsWith("-") ? argv.slice(1) : argv;
const known = ["raft", "system"];
if (!known.includes(name)) {
  process.stderr.write(`usage: pnpm sim [${known.join("|")}] [--seeds N] [--seed S]\n`);
  process.exit(2);
}
const mod = (await import(`./${name}-main.ts`)) as { main(args: string[]): Promise<number> };
process.exitCode = await mod.main(args);
