import { describe, expect, it } from "vitest";
import { CompareError } from "../compare/types.js";
import { defaultBenchWorkloads, parseBenchArgs, type BenchOptions } from "./args.js";

function parse(args: string[]): BenchOptions {
  const parsed = parseBenchArgs(args);
  if (parsed === "help") throw new Error("unexpected help");
  return parsed;
}

function rejects(args: string[], pattern: RegExp, code: CompareError["code"] = "BadArgument"): void {
  let caught: unknown;
  try {
    parseBenchArgs(args);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CompareError);
  expect((caught as CompareError).code).toBe(code);
  expect((caught as CompareError).message).toMatch(pattern);
}

describe("parseBenchArgs", () => {
  it("defaults: a local ensemble, every workload but failover, 4 clients × depth 4, 10 s, 100 B", () => {
    const options = parse([]);
    expect(options.target).toEqual({ kind: "local" });
    expect(options.workloads).toEqual(defaultBenchWorkloads);
    expect(options.workloads).not.toContain("failover");
    expect(options.knobs).toEqual({ clients: 4, depth: 4, durationMs: 10_000, warmupMs: 2_000, payloadBytes: 100 });
    expect(options.json).toBe(false);
  });

  it("--data DIR targets corral up's ensemble", () => {
    expect(parse(["--data", ".corral"]).target).toEqual({ kind: "data", dataDir: ".corral" });
  });

  it("--redis with --cluster, optional --nodes and --admin", () => {
    expect(parse(["--redis", "redis://127.0.0.1:6379", "--cluster", "prod", "--nodes", "a,b, c", "--admin", "http://127.0.0.1:7101"]).target).toEqual({
      kind: "redis",
      redisUrl: "redis://127.0.0.1:6379",
      cluster: "prod",
      nodes: ["a", "b", "c"],
      adminUrls: ["http://127.0.0.1:7101"],
    });
    expect(parse(["--redis", "redis://h:1", "--cluster", "x"]).target).toMatchObject({ nodes: undefined, adminUrls: [] });
  });

  it("knobs and --json", () => {
    const options = parse(["--clients", "8", "--depth", "2", "--duration-s", "1.5", "--warmup-s", "0", "--payload-bytes", "4096", "--workloads", "getData,setData", "--json"]);
    expect(options.knobs).toEqual({ clients: 8, depth: 2, durationMs: 1_500, warmupMs: 0, payloadBytes: 4096 });
    expect(options.workloads).toEqual(["getData", "setData"]);
    expect(options.json).toBe(true);
  });

  it("`failover` runs only failover, with its knobs", () => {
    const options = parse(["failover", "--data", "d", "--pre-kill-s", "2", "--max-recovery-s", "9"]);
    expect(options.workloads).toEqual(["failover"]);
    expect(options.failover).toEqual({ preKillMs: 2_000, maxRecoveryMs: 9_000 });
  });

  it("--help", () => {
    expect(parseBenchArgs(["--depth", "3", "--help"])).toBe("help");
  });

  it("rejects mistakes with typed errors", () => {
    rejects(["--clients", "0"], /--clients needs a positive number/);
    rejects(["--depth", "-1"], /--depth needs a positive number/);
    rejects(["--duration-s", "abc"], /--duration-s/);
    rejects(["--clients"], /--clients needs a value/);
    rejects(["--clients", "--json"], /--clients needs a value/);
    rejects(["--frobnicate"], /unknown argument --frobnicate/);
    rejects(["--workloads", "nope"], /unknown workload nope/, "UnknownWorkload");
    rejects(["--redis", "http://x", "--cluster", "c"], /not a redis:\/\/ URL/);
    rejects(["--redis", "redis://x:1"], /--redis and --cluster go together/);
    rejects(["--data", "d", "--local"], /give one target/);
    rejects(["--data", "d", "--redis", "redis://x:1", "--cluster", "c"], /give one target/);
    rejects(["--nodes", "a"], /go with --redis/);
    rejects(["--admin", "ftp://x", "--redis", "redis://x:1", "--cluster", "c"], /not an http:\/\/ URL/);
    rejects(["--cpu-prof", "p", "--data", "d"], /with --local/);
    rejects(["failover", "--workloads", "getData"], /only the failover workload/);
    rejects(["failover", "--redis", "redis://x:1", "--cluster", "c"], /use --data DIR/);
  });
});
