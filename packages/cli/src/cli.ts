/**
 * The `corral` command's dispatcher: `runCli(argv, io)` returns the exit code;
 * typed failures print as one clear line (plus usage for usage errors).
 */
import { ExitCode, UsageError, isCliError } from "./errors.js";
import { benchCommand } from "./commands/bench.js";
import { KEYGEN_USAGE, keygenCommand } from "./commands/keygen.js";
import { NODE_USAGE, nodeCommand } from "./commands/node.js";
import { SHELL_USAGE, shellCommand } from "./commands/shell.js";
import { STATUS_USAGE, statusCommand } from "./commands/status.js";
import { UP_USAGE, upCommand } from "./commands/up.js";
import type { CliIo } from "./cli-io.js";

export const USAGE = `usage: corral <command> [options]

commands:
  up        start a local ensemble (N node processes + Redis) and open the shell
  node      run one node process
  status    print the ensemble's status; exit 0 when it has a leader and a majority
  shell     an interactive shell (or one command with -c)
  bench     benchmark a running ensemble (--data DIR, or --redis URL --cluster NAME); "bench failover" kills the leader
  keygen    a new cluster key for the peers (--out FILE, or print the key file line)
  help      this text; \`corral <command> --help\` for a command's options`;

const USAGES: Record<string, string> = { up: UP_USAGE, node: NODE_USAGE, status: STATUS_USAGE, shell: SHELL_USAGE, keygen: KEYGEN_USAGE };

export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "up":
        return await upCommand(rest, io);
      case "node":
        return await nodeCommand(rest, io);
      case "status":
        return await statusCommand(rest, io);
      case "shell":
        return await shellCommand(rest, io);
      case "bench":
        return await benchCommand(rest, io);
      case "keygen":
        return keygenCommand(rest, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? ExitCode.Usage : ExitCode.Ok;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (isCliError(error)) {
      io.stderr.write(`corral${command === undefined ? "" : ` ${command}`}: ${error.message}\n`);
      if (error._tag === "UsageError") io.stderr.write(`\n${error.command === undefined ? USAGE : (USAGES[error.command] ?? USAGE)}\n`);
      return error.exitCode;
    }
    const tag = (error as { _tag?: unknown })._tag;
    io.stderr.write(`corral${command === undefined ? "" : ` ${command}`}: ${typeof tag === "string" ? `${tag}: ` : ""}${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Failure;
  }
}
