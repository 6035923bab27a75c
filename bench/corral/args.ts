/**
 * `corral bench` / `pnpm bench corral` command line, parsed into typed options.
 * Pure (no I/O), so every flag and every mistake is unit-tested.
 */
import { CompareError } from "../compare/types.js";
import { defaultFailoverKnobs, parseWorkloadNames, workloadDescriptions, workloadNames, type FailoverKnobs, type WorkloadKnobs, type WorkloadName } from "../compare/workloads.js";

/** Which ensemble to measure. */
export type BenchTarget =
  | { readonly kind: "data"; readonly dataDir: string }
  | { readonly kind: "redis"; readonly redisUrl: string; readonly cluster: string; readonly nodes: readonly string[] | undefined; readonly adminUrls: readonly string[] }
  | { readonly kind: "local" };

export interface BenchOptions {
  readonly target: BenchTarget;
  readonly workloads: readonly WorkloadName[];
  readonly knobs: WorkloadKnobs;
  readonly failover: FailoverKnobs;
  readonly json: boolean;
  /** Local ensemble only: write a V8 CPU profile of every node here (node --cpu-prof). */
  readonly cpuProfileDir: string | undefined;
}

export const defaultBenchWorkloads: readonly WorkloadName[] = workloadNames.filter((name) => name !== "failover");

export const benchUsage = `usage: corral bench [failover] [options]

Runs Corral's benchmark workloads against an ensemble and prints throughput and
latency (p50/p95/p99/max) per workload. \`corral bench failover\` kill -9s the
leader under write load and reports the time to the first acknowledged write,
to 80 % of the pre-kill throughput, and how many sessions survived.

target (one of):
  --data DIR               the ensemble \`corral up --data DIR\` recorded in DIR/ensemble.json
  --redis URL --cluster NAME --nodes ID,ID [--admin URL,URL]
                           any running ensemble (its node ids are required: they are never
                           discovered through Redis; --admin lists the nodes' admin HTTP URLs,
                           to report the leader)
  --local                  start a throwaway 3-node ensemble (redis-server + 3 node processes)
                           for the run (the default when no target is given)
options:
  --workloads a,b          default: all but failover: ${defaultBenchWorkloads.join(",")}
  --clients N              client sessions (default 4)
  --depth N                outstanding requests per client (default 4)
  --duration-s N           measured seconds per workload (default 10)
  --warmup-s N             unmeasured seconds before each (default 2)
  --payload-bytes N        payload of create/setData/mixed (default 100)
  --pre-kill-s N           failover: seconds of writes before the kill (default 4)
  --max-recovery-s N       failover: give up after N seconds (default 30)
  --cpu-prof DIR           --local only: V8 CPU profiles of the nodes into DIR
  --json                   one JSON document on stdout instead of the table
workloads:
${workloadNames.map((name) => `  ${name.padEnd(15)} ${workloadDescriptions[name]}`).join("\n")}
`;

function number(flag: string, raw: string | undefined, allowZero: boolean): number {
  const value = Number(raw);
  if (raw === undefined || raw.trim() === "" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new CompareError("BadArgument", `${flag} needs a ${allowZero ? "non-negative" : "positive"} number, got ${raw ?? "nothing"}`);
  }
  return value;
}

function list(raw: string | undefined): string[] {
  return (raw ?? "").split(",").map((item) => item.trim()).filter((item) => item.length > 0);
}

/** Parses the arguments after `corral bench`; "help" for --help. Throws CompareError("BadArgument") on a mistake. */
export function parseBenchArgs(args: readonly string[]): BenchOptions | "help" {
  let dataDir: string | undefined;
  let redisUrl: string | undefined;
  let cluster: string | undefined;
  let nodes: string[] | undefined;
  let adminUrls: string[] = [];
  let local = false;
  let workloads: WorkloadName[] | undefined;
  let failoverOnly = false;
  let clients = 4;
  let depth = 4;
  let durationMs = 10_000;
  let warmupMs = 2_000;
  let payloadBytes = 100;
  let failover: FailoverKnobs = defaultFailoverKnobs;
  let json = false;
  let cpuProfileDir: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const flag = args[index];
    const value = (): string | undefined => {
      index += 1;
      const next = args[index];
      if (next === undefined || next.startsWith("--")) throw new CompareError("BadArgument", `${flag ?? ""} needs a value`);
      return next;
    };
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "failover":
        failoverOnly = true;
        break;
      case "--data":
        dataDir = value();
        break;
      case "--redis":
        redisUrl = value();
        if (!/^rediss?:\/\/./.test(redisUrl ?? "")) throw new CompareError("BadArgument", `--redis: "${redisUrl ?? ""}" is not a redis:// URL`);
        break;
      case "--cluster":
        cluster = value();
        break;
      case "--nodes":
        nodes = list(value());
        break;
      case "--admin":
        adminUrls = list(value());
        for (const url of adminUrls) if (!/^https?:\/\/./.test(url)) throw new CompareError("BadArgument", `--admin: "${url}" is not an http:// URL`);
        break;
      case "--local":
        local = true;
        break;
      case "--workloads":
        workloads = parseWorkloadNames(value() ?? "");
        break;
      case "--clients":
        clients = Math.floor(number(flag, value(), false));
        break;
      case "--depth":
        depth = Math.floor(number(flag, value(), false));
        break;
      case "--duration-s":
        durationMs = number(flag, value(), false) * 1000;
        break;
      case "--warmup-s":
        warmupMs = number(flag, value(), true) * 1000;
        break;
      case "--payload-bytes":
        payloadBytes = Math.floor(number(flag, value(), true));
        break;
      case "--pre-kill-s":
        failover = { ...failover, preKillMs: number(flag, value(), false) * 1000 };
        break;
      case "--max-recovery-s":
        failover = { ...failover, maxRecoveryMs: number(flag, value(), false) * 1000 };
        break;
      case "--json":
        json = true;
        break;
      case "--cpu-prof":
        cpuProfileDir = value();
        break;
      default:
        throw new CompareError("BadArgument", `unknown argument ${flag ?? ""}`);
    }
  }
  const targets = [dataDir !== undefined, redisUrl !== undefined || cluster !== undefined, local].filter(Boolean).length;
  if (targets > 1) throw new CompareError("BadArgument", "give one target: --data DIR, --redis URL --cluster NAME, or --local");
  if ((redisUrl === undefined) !== (cluster === undefined)) throw new CompareError("BadArgument", "--redis and --cluster go together");
  if ((nodes !== undefined || adminUrls.length > 0) && redisUrl === undefined) throw new CompareError("BadArgument", "--nodes and --admin go with --redis/--cluster");
  const target: BenchTarget = dataDir !== undefined
    ? { kind: "data", dataDir }
    : redisUrl !== undefined && cluster !== undefined
      ? { kind: "redis", redisUrl, cluster, nodes, adminUrls }
      : { kind: "local" };
  if (cpuProfileDir !== undefined && target.kind !== "local") throw new CompareError("BadArgument", "--cpu-prof profiles nodes this command starts: use it with --local");
  if (failoverOnly && workloads !== undefined && workloads.some((name) => name !== "failover")) {
    throw new CompareError("BadArgument", "`bench failover` runs only the failover workload; drop --workloads");
  }
  const chosen = failoverOnly ? ["failover" as const] : (workloads ?? defaultBenchWorkloads);
  if (chosen.length === 0) throw new CompareError("BadArgument", "no workloads selected");
  if (chosen.includes("failover") && target.kind === "redis") {
    throw new CompareError("BadArgument", "failover kill -9s the leader, so it needs the nodes' pids and admin URLs: use --data DIR (ensemble.json) or --local");
  }
  return { target, workloads: chosen, knobs: { clients, depth, durationMs, warmupMs, payloadBytes }, failover, json, cpuProfileDir };
}
