/**
 * Chaos scenarios: each injects one kind of real fault while the workload
 * runs, then heals. `runScenario` wraps one in start / workload / heal /
 * check, and keeps the artifacts of a failing run.
 */
import { join } from "node:path";
import { ARTIFACTS_ROOT, ChaosCluster, ChaosWorkload, sleep } from "./harness.js";
import type { Violation } from "../sim/checkers/violation.js";

export interface Scenario {
  readonly name: string;
  /** Inject faults for about `durationMs`; returns once the faults are healed. */
  run(cluster: ChaosCluster, durationMs: number): Promise<void>;
}

/** The fault must have bitten: within the election bound, someone else leads (proves the fault control is honoured). */
async function expectNewLeader(cluster: ChaosCluster, old: string): Promise<void> {
  const ok = await cluster.waitFor(async () => {
    const leader = await cluster.leader();
    return leader !== undefined && leader.id !== old;
  }, 10_000);
  if (!ok) cluster.violations.add("liveness", `no new leader within 10 s after cutting off ${old}`);
}

/** Kill -9 whoever leads, let the rest elect, bring it back; repeat. */
export const killLeader: Scenario = {
  name: "kill-leader",
  async run(cluster, durationMs) {
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      const leader = await cluster.leader();
      if (leader !== undefined) {
        await cluster.kill9(leader);
        cluster.count("kill-9-leader");
        await sleep(1_500);
        cluster.restart(leader);
      }
      await sleep(2_500);
    }
  },
};

/** SIGSTOP the leader beyond the election and session timeouts, then SIGCONT. */
export const pauseLeader: Scenario = {
  name: "sigstop-leader",
  async run(cluster, durationMs) {
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      const leader = await cluster.leader();
      if (leader !== undefined) {
        cluster.pause(leader);
        cluster.count("sigstop");
        await expectNewLeader(cluster, leader.id);
        await sleep(5_000);
        cluster.resume(leader);
      }
      await sleep(2_000);
    }
  },
};

/** Kill redis-server (everything in flight is lost) and start it again, empty. */
export const redisRestart: Scenario = {
  name: "redis-restart",
  async run(cluster, durationMs) {
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      await cluster.redis.kill();
      cluster.count("redis-kill");
      await sleep(1_000);
      await cluster.redis.restart();
      await sleep(3_000);
    }
  },
};

/** Transport partitions through the fault control stream: isolate the leader, then a ring where no two ends talk. */
export const partitions: Scenario = {
  name: "partitions",
  async run(cluster, durationMs) {
    const ids = cluster.nodes.map((n) => n.id);
    const end = Date.now() + durationMs;
    let round = 0;
    while (Date.now() < end) {
      if (round++ % 2 === 0) {
        const leader = (await cluster.leader())?.id ?? ids[0]!;
        await cluster.fault({ kind: "partition", groups: [[leader], ids.filter((id) => id !== leader)] });
        cluster.count("partition-isolate-leader");
        await expectNewLeader(cluster, leader);
      } else {
        // n1 - n2 - n3 with n1 and n3 cut off from each other: n2 alone hears a majority.
        await cluster.fault({ kind: "block", from: ids[0]!, to: ids[2]! });
        await cluster.fault({ kind: "block", from: ids[2]!, to: ids[0]! });
        cluster.count("partition-ring");
      }
      await sleep(3_000);
      await cluster.fault({ kind: "heal" });
      await sleep(2_000);
    }
  },
};

/** One of each, briefly: the CI scenario (kill -9 the leader, restart Redis, isolate the leader). */
export const mixed: Scenario = {
  name: "mixed",
  async run(cluster) {
    const leader = await cluster.leader();
    if (leader !== undefined) {
      await cluster.kill9(leader);
      cluster.count("kill-9-leader");
      await sleep(1_500);
      cluster.restart(leader);
    }
    await sleep(2_000);
    await cluster.redis.kill();
    cluster.count("redis-kill");
    await sleep(1_000);
    await cluster.redis.restart();
    await sleep(2_000);
    const ids = cluster.nodes.map((n) => n.id);
    const current = (await cluster.leader())?.id ?? ids[0]!;
    await cluster.fault({ kind: "partition", groups: [[current], ids.filter((id) => id !== current)] });
    cluster.count("partition-isolate-leader");
    await sleep(3_000);
    await cluster.fault({ kind: "heal" });
  },
};

export const SCENARIOS: readonly Scenario[] = [killLeader, pauseLeader, redisRestart, partitions, mixed];

export interface ScenarioResult {
  readonly scenario: string;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly operationsChecked: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly artifacts: string | undefined;
}

export async function runScenario(scenario: Scenario, options: { readonly durationMs: number; readonly clients?: number }): Promise<ScenarioResult> {
  const dir = join(ARTIFACTS_ROOT, `${new Date().toISOString().replace(/[:.]/g, "-")}-${scenario.name}`);
  const cluster = await ChaosCluster.start(dir);
  const workload = new ChaosWorkload(cluster);
  let operationsChecked = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    const first = await cluster.converged(30_000);
    if (!first.ok) cluster.violations.add("liveness", `ensemble did not start: ${JSON.stringify(first.statuses)}`);
    else {
      await workload.setup();
      workload.run(options.clients ?? 3);
      await sleep(1_000);
      await scenario.run(cluster, options.durationMs);
      // Heal everything, stop the workload, then everything must converge.
      await cluster.fault({ kind: "heal" }).catch(() => undefined);
      for (const node of cluster.nodes) {
        if (node.stopped) cluster.resume(node);
        cluster.restart(node);
      }
      await workload.stop();
      const healed = await cluster.converged(30_000);
      if (!healed.ok) cluster.violations.add("liveness", `not converged 30 s after healing: ${JSON.stringify(healed.statuses.map((s) => s && [s.id, s.role, s.term, s.appliedIndex, s.commitIndex, s.digest]))}`);
      operationsChecked = await workload.check(cluster.violations);
      const digests = new Set(healed.statuses.map((s) => s?.digest));
      if (healed.ok && digests.size !== 1) cluster.violations.add("digest", `digests differ after healing: ${[...digests].join(", ")}`);
    }
  } catch (error) {
    cluster.violations.add("crash", `scenario threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await cluster.stop();
    process.off("unhandledRejection", onUnhandled);
  }
  for (const reason of unhandled) cluster.violations.add("crash", `unhandled rejection in the chaos process: ${String(reason)}`);
  for (const line of cluster.unhandledInLogs()) cluster.violations.add("crash", line);
  const ok = cluster.violations.ok;
  if (ok) cluster.removeArtifacts();
  else {
    cluster.writeArtifact("history.json", { registers: workload.history.registers, acknowledged: [...workload.acknowledged] });
    cluster.writeArtifact("violations.json", cluster.violations.list);
  }
  return { scenario: scenario.name, ok, violations: cluster.violations.list, operationsChecked, faults: cluster.faults, artifacts: ok ? undefined : dir };
}
