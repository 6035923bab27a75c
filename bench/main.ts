/**
 * `pnpm bench <name> [args...]`: runs bench/<name>.ts's exported `main(args)`.
 * Benchmarks print tables; they are never timed unit tests.
 */
const [name, ...args] = process.argv.slice(2);
const known = ["transport", "raft", "tree", "wal", "compare", "corral", "peer-auth"];
if (!name || !known.includes(name)) {
  process.stderr.write(`usage: pnpm bench <${known.join("|")}> [options]\n`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { main(args: string[]): Promise<void> };
await mod.main(args);
