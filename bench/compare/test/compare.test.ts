import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../histogram.js";
import { parseWorkloadNames, runWorkload, type WorkloadKnobs, type WorkloadResult } from "../workloads.js";
import { renderMainTable, type CompareReport } from "../report.js";
import { CompareError, type BenchClient, type KilledLeader, type SystemDriver, type SystemName } from "../types.js";

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An in-memory system: every operation takes one event-loop turn; `down` makes writes fail. */
class FakeSystem {
  readonly nodes = new Map<string, Uint8Array>();
  readonly watchers = new Map<string, Array<() => void>>();
  down = false;
  sequence = 0;
  term = 1n;
}

class FakeClient implements BenchClient {
  constructor(
    private readonly system: FakeSystem,
    private readonly id: string,
  ) {}

  async create(path: string, data: Uint8Array, sequential: boolean): Promise<boolean> {
    await tick();
    const name = sequential ? `${path}${String((this.system.sequence += 1)).padStart(10, "0")}` : path;
    if (this.system.nodes.has(name)) return false;
    this.system.nodes.set(name, data);
    return true;
  }

  async setData(path: string, data: Uint8Array): Promise<bigint> {
    await tick();
    if (this.system.down) throw new Error("no leader");
    this.system.nodes.set(path, data);
    const waiting = this.system.watchers.get(path) ?? [];
    this.system.watchers.delete(path);
    for (const fire of waiting) fire();
    return this.system.term;
  }

  async getData(path: string): Promise<Uint8Array> {
    await tick();
    return this.system.nodes.get(path) ?? new Uint8Array();
  }

  async exists(path: string): Promise<boolean> {
    await tick();
    return this.system.nodes.has(path);
  }

  async watchOnce(path: string): Promise<() => Promise<void>> {
    await tick();
    const event = new Promise<void>((resolve) => {
      const list = this.system.watchers.get(path) ?? [];
      list.push(resolve);
      this.system.watchers.set(path, list);
    });
    return () => event;
  }

  async lockCycle(path: string): Promise<void> {
    await this.create(`${path}/lock`, new Uint8Array(), false);
    await tick();
    this.system.nodes.delete(`${path}/lock`);
  }

  sessionId(): string {
    return this.id;
  }

  sessionAlive(): boolean {
    return true;
  }

  async close(): Promise<void> {
    await tick();
  }
}

class FakeDriver implements SystemDriver {
  readonly name: SystemName = "corral";
  readonly version = "fake";
  readonly system = new FakeSystem();
  private clients = 0;
  openSessions = 0;

  constructor(private readonly outageMs: number) {}

  async setup(): Promise<void> {}

  async newClient(): Promise<BenchClient> {
    await tick();
    this.clients += 1;
    this.openSessions += 1;
    const client = new FakeClient(this.system, `s${this.clients}`);
    const close = client.close.bind(client);
    client.close = async () => {
      this.openSessions -= 1;
      await close();
    };
    return client;
  }

  async killLeader(): Promise<KilledLeader> {
    this.system.down = true;
    const newLeaderElected = new Promise<bigint>((resolve) => setTimeout(() => {
      this.system.down = false;
      this.system.term += 1n;
      resolve(process.hrtime.bigint());
    }, this.outageMs));
    return { member: "fake1", killedAtNs: process.hrtime.bigint(), newLeaderElected };
  }

  async teardown(): Promise<void> {}
}

const knobs: WorkloadKnobs = { clients: 2, depth: 3, durationMs: 200, warmupMs: 50, payloadBytes: 100 };

async function run(name: Parameters<typeof runWorkload>[0], driver: FakeDriver, overrides: Partial<WorkloadKnobs> = {}): Promise<WorkloadResult> {
  return runWorkload(name, { driver, knobs: { ...knobs, ...overrides }, progress: () => undefined }, { preKillMs: 200, maxRecoveryMs: 5_000 });
}

describe("LatencyHistogram", () => {
  it("reports quantiles within 1.6 % of the exact sorted values, and the exact max", () => {
    const histogram = new LatencyHistogram();
    const samples: number[] = [];
    let state = 12345;
    for (let index = 0; index < 20_000; index += 1) {
      state = (state * 1103515245 + 12345) % 2147483648;
      const microseconds = 50 + (state % 200_000);
      samples.push(microseconds);
      histogram.recordMicroseconds(microseconds);
    }
    samples.sort((left, right) => left - right);
    for (const quantile of [0.5, 0.95, 0.99]) {
      const exact = samples[Math.ceil(quantile * samples.length) - 1] ?? 0;
      expect(Math.abs(histogram.quantileMicroseconds(quantile) - exact) / exact).toBeLessThan(0.016);
    }
    expect(histogram.summary().maxMs).toBe((samples.at(-1) ?? 0) / 1000);
    expect(histogram.count).toBe(20_000);
  });

  it("is exact below 128 µs and empty-safe", () => {
    const histogram = new LatencyHistogram();
    expect(histogram.summary().p99Ms).toBe(0);
    for (const value of [1, 2, 3, 100]) histogram.recordMicroseconds(value);
    expect(histogram.quantileMicroseconds(0.5)).toBe(2);
    expect(histogram.quantileMicroseconds(1)).toBe(100);
  });

  it("merges counts and max", () => {
    const left = new LatencyHistogram();
    const right = new LatencyHistogram();
    left.recordMicroseconds(10);
    right.recordMicroseconds(5_000);
    left.merge(right);
    expect(left.count).toBe(2);
    expect(left.summary().maxMs).toBe(5);
  });
});

describe("parseWorkloadNames", () => {
  it("puts failover last because it leaves a member dead", () => {
    expect(parseWorkloadNames("failover,getData,create")).toEqual(["getData", "create", "failover"]);
  });

  it("rejects an unknown workload with a typed error", () => {
    expect(() => parseWorkloadNames("getData,frobnicate")).toThrow(CompareError);
  });
});

describe("workload runner against an in-memory driver", () => {
  it("runs every closed-loop workload, honours forced knobs, and closes its sessions", async () => {
    const driver = new FakeDriver(0);
    for (const name of ["create", "setData", "setData-4KiB", "setData-single", "getData", "exists", "mixed", "lock", "session", "watch"] as const) {
      const result = await run(name, driver);
      expect(result.kind).toBe("throughput");
      if (result.kind !== "throughput") continue;
      expect(result.errors, name).toBe(0);
      expect(result.operations, name).toBeGreaterThan(0);
      expect(result.latency.count).toBe(result.operations);
      if (name === "setData-single") expect([result.clients, result.depth]).toEqual([1, 1]);
      if (name === "setData-4KiB") expect(result.payloadBytes).toBe(4096);
      if (name === "watch") expect(result.depth).toBe(1);
    }
    expect(driver.openSessions).toBe(0);
    expect(driver.system.nodes.get("/cb/setData-4KiB/c0")?.byteLength).toBe(4096);
  });

  it("failover: kills the leader, sees the first write after the outage and recovery, sessions survive", async () => {
    const driver = new FakeDriver(100);
    const result = await run("failover", driver);
    expect(result.kind).toBe("failover");
    if (result.kind !== "failover") return;
    expect(result.killedMember).toBe("fake1");
    expect(result.firstWriteMs).not.toBeNull();
    expect(result.firstWriteCriterion).toBe("new-leader-term");
    expect(result.electionMs).not.toBeNull();
    // A write in the new term can only follow the election.
    expect(result.firstWriteMs ?? 0).toBeGreaterThanOrEqual(result.electionMs ?? Infinity);
    expect(result.fullThroughputMs).not.toBeNull();
    expect(result.errors).toBeGreaterThan(0);
    expect(result.sessionsSurvived).toBe(result.sessionsTotal);
    expect(driver.openSessions).toBe(0);
  });
});

describe("report", () => {
  const base = {
    date: "2026-01-01", startedAt: "", finishedAt: "", command: "pnpm bench compare", knobs,
    machine: { cores: 2, cpuModel: "x", memoryGiB: 1, os: "linux", node: "v20", loadAverage: [0, 0, 0], fsync: { directory: "/tmp", writeBytes: 4096, iterations: 1, latency: { count: 1, meanMs: 1, p50Ms: 1, p95Ms: 1, p99Ms: 1, maxMs: 1 } } },
    systems: [], notes: [], workloads: ["setData"],
  } satisfies Omit<CompareReport, "results">;
  const throughput = (system: SystemName, opsPerSecond: number, p99Ms: number) => ({
    kind: "throughput" as const, workload: "setData" as const, system, clients: 1, depth: 1, payloadBytes: 100, measuredSeconds: 1, operations: opsPerSecond, errors: 0, opsPerSecond,
    latency: { count: opsPerSecond, meanMs: 1, p50Ms: 1, p95Ms: 1, p99Ms, maxMs: p99Ms },
  });

  it("adds Corral's ratio to each peer when Corral ran", () => {
    const report: CompareReport = { ...base, results: [throughput("corral", 4000, 2), throughput("zookeeper", 2000, 4), throughput("etcd", 1000, 8)] };
    const table = renderMainTable(report, ["corral", "zookeeper", "etcd"]);
    expect(table).toContain("corral/zookeeper ops/s");
    expect(table).toContain("| setData | 4,000 | 1.00 | 2.00 | 2,000 | 1.00 | 4.00 | 1,000 | 1.00 | 8.00 | 2.00× | 0.50× | 4.00× | 0.25× |");
  });

  it("has no ratio columns without Corral", () => {
    const report: CompareReport = { ...base, results: [throughput("zookeeper", 2000, 4)] };
    expect(renderMainTable(report, ["zookeeper"])).not.toContain("corral/");
  });
});
