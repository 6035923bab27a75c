/**
 * A node as a child process (runNode via fixtures/node-process.ts), for the
 * multi-process tests: its output, its admin URL once it prints "ready", its
 * exit; and a bounded poll for conditions on processes outside the test's clock.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("../fixtures/node-process.ts", import.meta.url));

export interface NodeProcess {
  readonly id: string;
  readonly child: ChildProcess;
  adminUrl: string | undefined;
  output: string;
  readonly exited: Promise<number | null>;
}

/** Start one node with `config` (a RunNodeConfig as JSON). */
export function spawnNodeProcess(id: string, config: Record<string, unknown>): NodeProcess {
  const child = spawn(process.execPath, ["--conditions=@corral/source", "--import", "tsx", fixture, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] });
  const node: NodeProcess = {
    id,
    child,
    adminUrl: undefined,
    output: "",
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    node.output += chunk.toString();
    const match = /ready (\S+)/.exec(node.output);
    if (match !== null) node.adminUrl = match[1];
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    node.output += chunk.toString();
  });
  return node;
}

/** Poll `condition` every 25 ms until it holds or `deadlineMs` pass (real processes: no simulated clock to run). */
export async function waitFor(condition: () => boolean | Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const giveUpAt = performance.now() + deadlineMs;
  while (!(await condition())) {
    if (performance.now() > giveUpAt) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
