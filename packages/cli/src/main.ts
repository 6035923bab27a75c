/** Entry point of the `corral` command (`pnpm corral <command>`). */
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
// Let stdout drain, then leave even if a library left a handle open (a Redis socket, a stdin listener).
process.stdout.write("", () => process.exit(code));
