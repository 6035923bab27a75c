/**
 * `pnpm bench corral [failover] [options]` and `corral bench ...`: Corral's
 * workloads (the comparison's, bench/compare/workloads.ts, through the Corral
 * driver) against any Corral ensemble: the one `corral up --data DIR`
 * recorded, one named by --redis/--cluster, or a throwaway local one.
 * A live progress line on stderr, then a table (or --json) on stdout.
 */
import { CorralDriver } from "./compare/driver-corral.js";
import { runWorkload } from "./compare/workloads.js";
import { CompareError } from "./compare/types.js";
import { readEnsembleTarget, type EnsembleTarget } from "./corral/ensemble.js";
import { benchUsage, parseBenchArgs, type BenchOptions } from "./corral/args.js";
import { renderBenchTable, type BenchRow } from "./corral/render.js";

/** The streams `runBench` writes to (the CLI passes its own). */
export interface BenchIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

async function resolveTarget(options: BenchOptions): Promise<EnsembleTarget | undefined> {
  const target = options.target;
  if (target.kind === "local") return undefined;
  if (target.kind === "data") return readEnsembleTarget(target.dataDir);
  // Node ids come from the user, never from Redis (anyone who can write there could list their own).
  const nodes = target.nodes ?? [];
  if (nodes.length === 0) throw new CompareError("BadArgument", "--redis needs --nodes ID,ID,...: node ids are not discovered through Redis");
  return { redisUrl: target.redisUrl, cluster: target.cluster, members: nodes.map((id, index) => ({ id, adminUrl: target.adminUrls[index] ?? "http://127.0.0.1:0", pid: undefined })) };
}

function progressWriter(io: BenchIo): { progress: (line: string) => void; log: (line: string) => void } {
  const interactive = io.stderr.isTTY === true;
  let pending = false;
  let lastNs = 0n;
  return {
    progress: (line) => {
      if (interactive) {
        io.stderr.write(`\r\x1b[K${line}`);
        pending = true;
      } else if (process.hrtime.bigint() - lastNs >= 5_000_000_000n) {
        lastNs = process.hrtime.bigint();
        io.stderr.write(`${line}\n`);
      }
    },
    log: (line) => {
      if (pending) io.stderr.write("\r\x1b[K");
      pending = false;
      io.stderr.write(`${line}\n`);
    },
  };
}

/** Runs `corral bench`; resolves with the process exit code (0 ok, 1 a workload failed, 2 usage). */
export async function runBench(args: readonly string[], io: BenchIo): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseBenchArgs(args);
    if (parsed === "help") {
      io.stdout.write(benchUsage);
      return 0;
    }
    options = parsed;
  } catch (error) {
    io.stderr.write(`corral bench: ${error instanceof Error ? error.message : String(error)}\n\n${benchUsage}`);
    return 2;
  }
  const output = progressWriter(io);
  let target: EnsembleTarget | undefined;
  try {
    target = await resolveTarget(options);
  } catch (error) {
    io.stderr.write(`corral bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const driver = new CorralDriver({
    log: output.log,
    ...(target === undefined ? {} : { target }),
    ...(options.cpuProfileDir === undefined ? {} : { nodeFlags: ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir], keepDirectory: true }),
  });
  const rows: BenchRow[] = [];
  const startedAt = new Date();
  try {
    try {
      await driver.setup();
    } catch (error) {
      io.stderr.write(`corral bench: the ensemble is not usable: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
    for (const workload of options.workloads) {
      try {
        const result = await runWorkload(workload, { driver, knobs: options.knobs, progress: output.progress }, options.failover);
        rows.push(result);
        output.log(result.kind === "throughput"
          ? `${workload}: ${result.opsPerSecond} ops/s p50 ${result.latency.p50Ms} ms p99 ${result.latency.p99Ms} ms errors ${result.errors}`
          : `failover: first write ${result.firstWriteMs ?? "none"} ms, 80 % throughput ${result.fullThroughputMs ?? "none"} ms, sessions ${result.sessionsSurvived}/${result.sessionsTotal}`);
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        rows.push({ kind: "error", workload, message });
        output.log(`${workload}: error: ${message}`);
      }
    }
  } finally {
    await driver.teardown();
  }
  if (options.json) {
    io.stdout.write(`${JSON.stringify({
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: ["corral bench", ...args].join(" "),
      target: target === undefined ? { kind: "local", nodes: 3, fsync: "always" } : { kind: options.target.kind, cluster: target.cluster, redisUrl: target.redisUrl, nodes: target.members.map((member) => member.id) },
      knobs: options.knobs,
      results: rows,
    }, null, 2)}\n`);
  } else {
    io.stdout.write(`\n${renderBenchTable(rows)}\n`);
  }
  return rows.some((row) => row.kind === "error") ? 1 : 0;
}

export async function main(args: string[]): Promise<void> {
  process.exitCode = await runBench(args, { stdout: process.stdout, stderr: process.stderr });
}
