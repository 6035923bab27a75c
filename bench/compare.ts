/**
 * `pnpm bench compare [options]`: Corral and its peers (Apache ZooKeeper 3.8,
 * etcd 3.4) on the same machine in the same run, driven by the same workloads
 * with the same knobs; prints one table and writes bench/results/<date>-compare.{json,md}.
 * See bench/compare/README.md.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import type { FloorReport } from "./corral/floor.js";
import { isCorralDriver } from "./compare/driver-corral.js";
import { drivers, systemOrder } from "./compare/drivers.js";
import { describeMachine } from "./compare/machine.js";
import { renderMarkdown, renderMainTable, renderContext, type CompareReport, type RecordedResult, type SystemStatus } from "./compare/report.js";
import { CompareError, corralSystems, type SystemName } from "./compare/types.js";
import { defaultFailoverKnobs, parseWorkloadNames, runWorkload, workloadDescriptions, workloadNames, type FailoverKnobs, type WorkloadKnobs } from "./compare/workloads.js";

const benchDirectory = fileURLToPath(new URL(".", import.meta.url));
const repositoryRoot = join(benchDirectory, "..");

interface Options {
  readonly install: boolean;
  readonly systems: readonly SystemName[];
  readonly workloads: ReturnType<typeof parseWorkloadNames>;
  readonly knobs: WorkloadKnobs;
  readonly failover: FailoverKnobs;
  readonly resultsDirectory: string;
  readonly write: boolean;
  readonly primeMs: number;
}

const usage = `usage: pnpm bench compare [options]
  --install                run bench/compare/install-peers.sh first (apt-get, needs root)
  --systems a,b            systems to run (default: corral,zookeeper,etcd)
  --workloads a,b          workloads (default: all): ${workloadNames.join(",")}
  --duration-s N           measured seconds per workload (default 10)
  --warmup-s N             unmeasured seconds before each workload (default 2)
  --clients N              client sessions (default 4)
  --depth N                outstanding requests per client (default 4)
  --payload-bytes N        payload of create/setData/mixed (default 100)
  --pre-kill-s N           failover: seconds of writes before the kill (default 4)
  --max-recovery-s N       failover: give up after N seconds (default 30)
  --prime-s N              unmeasured mixed load after each system starts, so JITs
                           and caches are warm before the first workload (default 5; 0 = off)
  --results-dir DIR        where results go (default bench/results)
  --no-write               do not write results files
workloads:
${workloadNames.map((name) => `  ${name.padEnd(15)} ${workloadDescriptions[name]}`).join("\n")}
`;

function positiveNumber(flag: string, raw: string | undefined, allowZero = false): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new CompareError("BadArgument", `${flag} needs a ${allowZero ? "non-negative" : "positive"} number, got ${raw ?? "nothing"}`);
  }
  return value;
}

function parseOptions(args: readonly string[]): Options | "help" {
  let install = false;
  let write = true;
  let systems: SystemName[] = [...systemOrder];
  let workloads = parseWorkloadNames(workloadNames.join(","));
  let durationMs = 10_000;
  let warmupMs = 2_000;
  let clients = 4;
  let depth = 4;
  let payloadBytes = 100;
  let failover = defaultFailoverKnobs;
  let resultsDirectory = join(benchDirectory, "results");
  let primeMs = 5_000;
  for (let index = 0; index < args.length; index += 1) {
    const flag = args[index];
    const next = (): string | undefined => args[(index += 1)];
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "--install":
        install = true;
        break;
      case "--no-write":
        write = false;
        break;
      case "--systems": {
        const names = (next() ?? "").split(",").map((name) => name.trim()).filter((name) => name.length > 0);
        for (const name of names) {
          if (!(systemOrder as readonly string[]).includes(name)) throw new CompareError("UnknownSystem", `unknown system ${name}; known: ${systemOrder.join(", ")}`);
        }
        systems = names as SystemName[];
        break;
      }
      case "--workloads":
        workloads = parseWorkloadNames(next() ?? "");
        break;
      case "--duration-s":
        durationMs = positiveNumber(flag, next()) * 1000;
        break;
      case "--warmup-s":
        warmupMs = positiveNumber(flag, next(), true) * 1000;
        break;
      case "--clients":
        clients = Math.floor(positiveNumber(flag, next()));
        break;
      case "--depth":
        depth = Math.floor(positiveNumber(flag, next()));
        break;
      case "--payload-bytes":
        payloadBytes = Math.floor(positiveNumber(flag, next(), true));
        break;
      case "--pre-kill-s":
        failover = { ...failover, preKillMs: positiveNumber(flag, next()) * 1000 };
        break;
      case "--max-recovery-s":
        failover = { ...failover, maxRecoveryMs: positiveNumber(flag, next()) * 1000 };
        break;
      case "--prime-s":
        primeMs = positiveNumber(flag, next(), true) * 1000;
        break;
      case "--results-dir":
        resultsDirectory = next() ?? resultsDirectory;
        break;
      default:
        throw new CompareError("BadArgument", `unknown option ${flag ?? ""}\n${usage}`);
    }
  }
  if (workloads.length === 0) throw new CompareError("BadArgument", "no workloads selected");
  return { install, write, systems, workloads, knobs: { clients, depth, durationMs, warmupMs, payloadBytes }, failover, resultsDirectory, primeMs };
}

function progressWriter(): { progress: (line: string) => void; log: (line: string) => void } {
  const interactive = process.stderr.isTTY;
  let lastNonInteractiveNs = 0n;
  let pending = false;
  return {
    progress: (line) => {
      if (interactive) {
        process.stderr.write(`\r\x1b[K${line}`);
        pending = true;
        return;
      }
      // Logs and CI: one line every 5 s instead of a rewriting line.
      const now = process.hrtime.bigint();
      if (now - lastNonInteractiveNs >= 5_000_000_000n) {
        lastNonInteractiveNs = now;
        process.stderr.write(`${line}\n`);
      }
    },
    log: (line) => {
      if (pending) process.stderr.write("\r\x1b[K");
      pending = false;
      process.stderr.write(`${line}\n`);
    },
  };
}

export async function main(args: string[]): Promise<void> {
  const parsed = parseOptions(args);
  if (parsed === "help") {
    process.stdout.write(usage);
    return;
  }
  const options = parsed;
  const output = progressWriter();
  const startedAt = new Date();
  const notes: string[] = [];

  if (options.install) {
    const script = join(benchDirectory, "compare", "install-peers.sh");
    const installed = spawnSync("bash", [script], { stdio: ["ignore", "inherit", "inherit"] });
    if (installed.status !== 0) output.log(`compare: ${script} exited ${installed.status ?? "by signal"}`);
  }

  const statuses: SystemStatus[] = [];
  for (const system of systemOrder.filter((name) => options.systems.includes(name))) {
    const factory = drivers[system];
    if (factory === undefined) {
      const reason = system === "corral" ? "Corral is not yet available (no Corral driver registered in bench/compare/drivers.ts)" : "no driver registered";
      statuses.push({ system, available: false, version: "", detail: reason });
      continue;
    }
    const detection = await factory.detect();
    statuses.push(detection.available
      ? { system, available: true, version: detection.version, detail: detection.detail }
      : { system, available: false, version: "", detail: `${detection.reason}; run with --install (or bench/compare/install-peers.sh) to install` });
  }
  for (const status of statuses) output.log(`compare: ${status.system}: ${status.available ? `available, ${status.version}` : status.detail}`);

  mkdirSync(options.resultsDirectory, { recursive: true });
  output.log("compare: measuring disk fsync latency");
  const machine = describeMachine(options.resultsDirectory);
  output.log(`compare: ${machine.cores} cores, ${machine.cpuModel}; fsync p50 ${machine.fsync.latency.p50Ms} ms p99 ${machine.fsync.latency.p99Ms} ms`);

  const results: RecordedResult[] = [];
  const ran: SystemName[] = [];
  let floor: FloorReport | undefined;
  for (const status of statuses.filter((entry) => entry.available)) {
    const factory = drivers[status.system];
    if (factory === undefined) continue;
    const driver = factory.create({ log: output.log });
    try {
      output.log(`compare: starting ${status.system}`);
      await driver.setup();
      ran.push(status.system);
      const index = statuses.indexOf(status);
      statuses[index] = { ...status, version: driver.version !== "unknown" ? driver.version : status.version };
      if (isCorralDriver(driver) && floor === undefined) {
        floor = await driver.measureFloor(machine.fsync.latency.p50Ms);
        output.log(`compare: Redis hop p50 ${floor.hop.latency.p50Ms} ms; write floor ${floor.onFollower.floorMs} ms (client on a follower, ${floor.onFollower.hops} hops + fsync), ${floor.onLeader.floorMs} ms (on the leader)`);
      }
      if (options.primeMs > 0) {
        output.log(`compare: priming ${status.system} with ${options.primeMs / 1000} s of unmeasured mixed load`);
        await runWorkload("mixed", { driver, knobs: { ...options.knobs, warmupMs: 0, durationMs: options.primeMs }, progress: output.progress });
      }
      for (const workload of options.workloads) {
        try {
          const result = await runWorkload(workload, { driver, knobs: options.knobs, progress: output.progress }, options.failover);
          results.push(result);
          const summary = result.kind === "throughput"
            ? `${result.opsPerSecond} ops/s p50 ${result.latency.p50Ms} ms p99 ${result.latency.p99Ms} ms errors ${result.errors}`
            : `new leader ${result.electionMs ?? "none"} ms, first write ${result.firstWriteMs ?? "none"} ms (${result.firstWriteCriterion}), 80 % throughput ${result.fullThroughputMs ?? "none"} ms, sessions ${result.sessionsSurvived}/${result.sessionsTotal}`;
          output.log(`[${status.system}] ${workload}: ${summary}${result.firstError === undefined ? "" : ` (first error: ${result.firstError})`}`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          results.push({ kind: "error", workload, system: status.system, message });
          output.log(`[${status.system}] ${workload}: error: ${message}`);
        }
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.push({ kind: "error", workload: "setup", system: status.system, message });
      output.log(`compare: ${status.system} setup failed: ${message}`);
    } finally {
      await driver.teardown();
    }
  }
  if (!statuses.some((status) => corralSystems.includes(status.system) && status.available)) {
    notes.push("Corral is not yet available: its columns and ratios appear once bench/compare/drivers.ts registers a Corral driver.");
  }
  notes.push("Each system is a 3-member ensemble on 127.0.0.1 with default durability (ZooKeeper forceSync=yes, etcd WAL fsync), all in this machine with the load generator (one Node process).");
  notes.push("Reads use each system's default: ZooKeeper serves from the connected member, etcd reads are linearizable.");

  notes.push(`load average at the end: ${loadavg().map((value) => value.toFixed(2)).join(" / ")} (on ${machine.cores} cores)`);
  const finishedAt = new Date();
  const report: CompareReport = {
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    command: ["pnpm bench compare", ...args].join(" "),
    knobs: options.knobs,
    workloads: options.workloads,
    machine,
    systems: statuses,
    results,
    notes,
    ...(floor === undefined ? {} : { floor }),
  };
  const columns = systemOrder.filter((system) => ran.includes(system));
  process.stdout.write(`\n${renderContext(report)}\n\n${renderMainTable(report, columns)}\n`);
  if (options.write) {
    const base = join(options.resultsDirectory, `${report.date}-compare`);
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, renderMarkdown(report, columns));
    process.stdout.write(`\nresults: ${relative(repositoryRoot, base)}.{json,md}\n`);
  }
}
