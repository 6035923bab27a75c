/**
 * `corral up --in-memory`: for machines with no Redis at all. N nodes
 * (createNode) and the shell's client in this one process, on the actors'
 * InMemoryNetwork and a SimScheduler pumped at wall-clock pace, with
 * in-memory logs: nothing persists, nothing else can connect.
 */
import { InMemoryNetwork, SimScheduler, createLogger, simulationKeyring } from "@corral/actors";
import { MemoryDurableLog } from "@corral/consensus";
import { createNode, type CorralNode } from "@corral/server";
import { connectWith } from "@corral/client";
import { ExitCode, NoLeader } from "../errors.js";
import type { CliIo } from "../cli-io.js";
import { ShellInterpreter } from "../shell/interpreter.js";
import { InteractiveIo, runRepl } from "../shell/repl.js";
import type { UpFlags } from "./up.js";

async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 16; i++) await Promise.resolve();
}

/** Runs simulated events up to the wall-clock elapsed time, one at a time with promise continuations in between. */
function startPump(sim: SimScheduler): () => void {
  const origin = performance.now();
  let stopped = false;
  let running = false;
  const pump = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const target = performance.now() - origin;
      // A bound per tick, so a storm of events cannot starve the terminal.
      for (let events = 0; events < 100_000 && !stopped; events++) {
        const before = sim.executedEvents;
        let first = true;
        sim.runUntil(() => {
          if (first) {
            first = false;
            return false;
          }
          return true;
        }, Math.max(0, target - sim.now()));
        await drainMicrotasks();
        if (sim.executedEvents === before) break;
      }
    } finally {
      running = false;
    }
  };
  const interval = setInterval(() => void pump(), 2);
  return () => {
    stopped = true;
    clearInterval(interval);
  };
}

export async function upInMemory(flags: UpFlags, io: CliIo): Promise<ExitCode> {
  const sim = new SimScheduler(Math.floor(performance.now()));
  const network = new InMemoryNetwork(sim, { latencyMsMin: 0, latencyMsMax: 1 });
  const logger = createLogger({ level: "warn", destination: { write: (line: string) => void io.stderr.write(line) } });
  const ids = Array.from({ length: flags.nodes }, (_, index) => `n${index + 1}`);
  // Nothing outside this process can reach the in-memory network: a key derived from the seed will do.
  const keyring = simulationKeyring(sim.seed);
  const stopPump = startPump(sim);
  const nodes: CorralNode[] = [];
  try {
    for (const id of ids) {
      nodes.push(
        await createNode(
          { nodeId: id, peers: ids, clusterName: flags.cluster },
          { clock: sim.clockFor(id), random: sim.random.fork(id), network, logger, executor: sim.schedule, durableLog: new MemoryDurableLog(), peerAuth: { keyring, epoch: 1 } },
        ),
      );
    }
    const deadline = performance.now() + flags.leaderTimeoutMs;
    while (!nodes.some((node) => node.status().role === "leader")) {
      if (performance.now() > deadline) throw new NoLeader(flags.leaderTimeoutMs);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 50));
    }
    io.stdout.write(`corral up --in-memory: ${flags.nodes} node(s) in this process, cluster ${flags.cluster}; nothing is persisted, and only this shell can connect\n`);
    const client = await connectWith({ network, clock: sim.clockFor("shell"), random: sim.random.fork("shell") }, { cluster: flags.cluster, nodes: ids });
    const shellIo = new InteractiveIo(io.stdout, io.stderr);
    const status = async (): Promise<{ lines: string[]; healthy: boolean }> => {
      const lines = nodes.map((node) => {
        const s = node.status();
        return `${s.id}  ${s.role.padEnd(9)} term ${s.term}  leader ${s.leader ?? "-"}  commit ${s.commitIndex}  applied ${s.appliedIndex}  sessions ${s.sessions}`;
      });
      return { lines, healthy: nodes.some((node) => node.status().role === "leader") };
    };
    const interpreter = new ShellInterpreter({ client, io: shellIo, status });
    try {
      await runRepl({ interpreter, io: shellIo, input: io.stdin, output: io.stdout, prompt: `[corral ${flags.cluster} in-memory] ` });
    } finally {
      await interpreter.close();
      await client.close().catch(() => undefined);
    }
    return ExitCode.Ok;
  } finally {
    for (const node of nodes) await node.stop().catch(() => undefined);
    stopPump();
  }
}
