/**
 * `corral bench`: delegates to the benchmark runner in the repository's
 * bench/corral.ts (`runBench(args, io)`), which drives any Corral ensemble
 * (`--data DIR`, `--redis URL --cluster NAME`, or a throwaway `--local` one)
 * with the comparison's workloads. Loaded at run time, so the CLI builds
 * without bench/ and a checkout without it gets a typed NotAvailable.
 */
import { NotAvailable, type ExitCode } from "../errors.js";
import type { CliIo } from "../cli-io.js";

type RunBench = (args: readonly string[], io: { stdout: CliIo["stdout"]; stderr: CliIo["stderr"] }) => Promise<number>;

/** packages/cli/src/commands/ → the repository root's bench/corral.ts (runs from source, under tsx). */
const runnerUrl = new URL("../../../../bench/corral.ts", import.meta.url).href;

export async function benchCommand(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let module: Record<string, unknown>;
  try {
    module = (await import(runnerUrl)) as Record<string, unknown>;
  } catch (error) {
    throw new NotAvailable("corral bench", `cannot load the benchmark runner ${runnerUrl} (it runs from a source checkout: \`pnpm corral bench\`)`, { cause: error });
  }
  const runBench = module["runBench"];
  if (typeof runBench !== "function") throw new NotAvailable("corral bench", `${runnerUrl} does not export runBench`);
  const code = await (runBench as RunBench)(args, { stdout: io.stdout, stderr: io.stderr });
  return (code === 0 || code === 1 || code === 2 ? code : 1) as ExitCode;
}
