/**
 * `corral bench`: reserved. The benchmarks live in bench/ (`pnpm bench`); when
 * a bench runner the CLI can call is published, this delegates to it.
 */
import { NotAvailable } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { CliIo } from "../cli-io.js";

export function benchCommand(_args: readonly string[], _io: CliIo): Promise<ExitCode> {
  return Promise.reject(new NotAvailable("corral bench", "the benchmark runner is not wired into the CLI yet; run `pnpm bench <name>` from the repository root"));
}
