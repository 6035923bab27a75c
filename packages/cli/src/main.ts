/** Entry point of the `corral` command (`pnpm corral <command>`). */
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
// `corral node` keeps running until its signal handlers end the process; every other command is done.
if (process.argv[2] !== "node" || code !== 0) {
  process.exitCode = code;
  // Let stdout drain, then leave even if a library left a handle open.
  process.stdout.write("", () => process.exit(code));
}
