/**
 * Renders the comparison: one markdown table of workload × system (absolute
 * numbers, and Corral's ratio to each peer when Corral ran), plus the detail
 * table and the run's context, for the terminal and bench/results/.
 */
import type { FloorReport } from "../corral/floor.js";
import type { MachineInfo } from "./machine.js";
import { corralSystems, type SystemName } from "./types.js";
import type { FailoverResult, ThroughputResult, WorkloadKnobs, WorkloadName } from "./workloads.js";

export interface ErrorResult {
  readonly kind: "error";
  readonly workload: WorkloadName | "setup";
  readonly system: SystemName;
  readonly message: string;
}

export type RecordedResult = ThroughputResult | FailoverResult | ErrorResult;

export interface SystemStatus {
  readonly system: SystemName;
  readonly available: boolean;
  readonly version: string;
  readonly detail: string;
}

export interface CompareReport {
  readonly date: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly knobs: WorkloadKnobs;
  readonly workloads: readonly WorkloadName[];
  readonly machine: MachineInfo;
  readonly systems: readonly SystemStatus[];
  readonly results: readonly RecordedResult[];
  readonly notes: readonly string[];
  /** Corral's single-client write latency floor, measured when Corral ran. */
  readonly floor?: FloorReport;
}

const peers: readonly SystemName[] = ["zookeeper", "etcd"];

function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "–";
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function find<K extends RecordedResult["kind"]>(results: readonly RecordedResult[], system: SystemName, workload: string, kind: K): Extract<RecordedResult, { kind: K }> | undefined {
  return results.find((result) => result.system === system && result.workload === workload && result.kind === kind) as Extract<RecordedResult, { kind: K }> | undefined;
}

export function renderMainTable(report: CompareReport, systems: readonly SystemName[]): string {
  const withCorral = systems.includes("corral");
  // Every Corral column (each client) against every peer in the same run.
  const ratioPairs: (readonly [SystemName, SystemName])[] = [];
  for (const ours of corralSystems.filter((system) => systems.includes(system))) {
    for (const peer of peers.filter((system) => systems.includes(system))) ratioPairs.push([ours, peer]);
  }
  const header = ["workload"];
  for (const system of systems) header.push(`${system} ops/s`, `${system} p50 ms`, `${system} p99 ms`);
  for (const [ours, peer] of ratioPairs) header.push(`${ours}/${peer} ops/s`, `${ours}/${peer} p99`);
  const lines = [row(header), row(header.map((_cell, index) => (index === 0 ? "---" : "---:")))];
  for (const workload of report.workloads.filter((name) => name !== "failover")) {
    const cells: string[] = [workload];
    for (const system of systems) {
      const result = find(report.results, system, workload, "throughput");
      const failed = find(report.results, system, workload, "error");
      if (result === undefined) cells.push(failed === undefined ? "–" : "error", "–", "–");
      else cells.push(formatNumber(result.opsPerSecond), formatNumber(result.latency.p50Ms), formatNumber(result.latency.p99Ms));
    }
    for (const [ours, peer] of ratioPairs) {
      const corral = find(report.results, ours, workload, "throughput");
      const other = find(report.results, peer, workload, "throughput");
      if (corral === undefined || other === undefined) cells.push("–", "–");
      else cells.push(formatRatio(corral.opsPerSecond / other.opsPerSecond), formatRatio(corral.latency.p99Ms / other.latency.p99Ms));
    }
    lines.push(row(cells));
    if (workload === "setData-single" && report.floor !== undefined && withCorral) {
      const floor = report.floor;
      const corral = find(report.results, "corral", workload, "throughput");
      const floorCells = [`write floor: ${floor.onFollower.hops} hops × ${formatNumber(floor.hop.latency.p50Ms)} ms + fsync ${formatNumber(floor.fsyncP50Ms)} ms (client on leader: ${formatNumber(floor.onLeader.floorMs)})`];
      for (const system of systems) floorCells.push("", system === "corral" ? formatNumber(floor.onFollower.floorMs) : "", "");
      for (const _pair of ratioPairs) floorCells.push("", "");
      if (corral !== undefined) floorCells[0] += `; corral p50 / floor ${formatRatio(corral.latency.p50Ms / floor.onFollower.floorMs)}`;
      lines.push(row(floorCells));
    }
  }
  if (report.workloads.includes("failover")) {
    const failoverRows: Array<[string, (result: FailoverResult) => string, (corral: FailoverResult, other: FailoverResult) => string]> = [
      ["failover: kill → first write (ms)", (result) => (result.firstWriteMs === null ? "none" : formatNumber(result.firstWriteMs)),
        (corral, other) => (corral.firstWriteMs === null || other.firstWriteMs === null ? "–" : formatRatio(corral.firstWriteMs / other.firstWriteMs))],
      ["failover: kill → new leader, server side (ms)", (result) => (result.electionMs === null ? "none" : formatNumber(result.electionMs)),
        (corral, other) => (corral.electionMs === null || other.electionMs === null ? "–" : formatRatio(corral.electionMs / other.electionMs))],
      ["failover: kill → 80 % throughput (ms)", (result) => (result.fullThroughputMs === null ? "none" : formatNumber(result.fullThroughputMs)),
        (corral, other) => (corral.fullThroughputMs === null || other.fullThroughputMs === null ? "–" : formatRatio(corral.fullThroughputMs / other.fullThroughputMs))],
      ["failover: pre-kill writes/s", (result) => formatNumber(result.preKillOpsPerSecond),
        (corral, other) => formatRatio(corral.preKillOpsPerSecond / other.preKillOpsPerSecond)],
      ["failover: sessions survived", (result) => `${result.sessionsSurvived}/${result.sessionsTotal}`, () => "–"],
    ];
    for (const [label, value, ratio] of failoverRows) {
      const cells = [label];
      for (const system of systems) {
        const result = find(report.results, system, "failover", "failover");
        const failed = find(report.results, system, "failover", "error");
        cells.push(result === undefined ? (failed === undefined ? "–" : "error") : value(result), "", "");
      }
      for (const [ours, peer] of ratioPairs) {
        const corral = find(report.results, ours, "failover", "failover");
        const other = find(report.results, peer, "failover", "failover");
        cells.push(corral === undefined || other === undefined ? "–" : ratio(corral, other), "");
      }
      lines.push(row(cells));
    }
  }
  return lines.join("\n");
}

export function renderDetailTable(report: CompareReport): string {
  const header = ["system", "workload", "clients×depth", "payload B", "ops", "ops/s", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"];
  const lines = [row(header), row(header.map((_cell, index) => (index < 2 ? "---" : "---:")))];
  for (const result of report.results) {
    if (result.kind === "throughput") {
      const latency = result.latency;
      lines.push(row([result.system, result.workload, `${result.clients}×${result.depth}`, String(result.payloadBytes), String(result.operations), formatNumber(result.opsPerSecond),
        formatNumber(latency.meanMs), formatNumber(latency.p50Ms), formatNumber(latency.p95Ms), formatNumber(latency.p99Ms), formatNumber(latency.maxMs), String(result.errors)]));
    } else if (result.kind === "failover") {
      const latency = result.latency;
      lines.push(row([result.system, `failover (killed ${result.killedMember})`, `${result.clients}×${result.depth}`, "", String(latency.count), formatNumber(result.preKillOpsPerSecond),
        formatNumber(latency.meanMs), formatNumber(latency.p50Ms), formatNumber(latency.p95Ms), formatNumber(latency.p99Ms), formatNumber(latency.maxMs), String(result.errors)]));
    } else {
      lines.push(row([result.system, result.workload, "", "", "", "", "", "", "", "", "", `error: ${result.message.replaceAll("|", "/")}`]));
    }
  }
  return lines.join("\n");
}

export function renderContext(report: CompareReport): string {
  const machine = report.machine;
  const fsync = machine.fsync.latency;
  const lines = [
    `- date: ${report.date} (started ${report.startedAt}, finished ${report.finishedAt})`,
    `- command: \`${report.command}\``,
    `- machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, node ${machine.node}, load average at start ${machine.loadAverage.join(" / ")}`,
    `- disk fsync (${machine.fsync.writeBytes} B write + fdatasync, ${machine.fsync.iterations}×, in ${machine.fsync.directory}): p50 ${formatNumber(fsync.p50Ms)} ms, p99 ${formatNumber(fsync.p99Ms)} ms, max ${formatNumber(fsync.maxMs)} ms`,
    `- knobs: clients ${report.knobs.clients}, depth ${report.knobs.depth}, duration ${report.knobs.durationMs / 1000} s, warmup ${report.knobs.warmupMs / 1000} s, payload ${report.knobs.payloadBytes} B`,
    ...(report.floor === undefined ? [] : [
      `- write latency floor: Redis one-way hop (XADD → XREAD, ${report.floor.hop.samples} samples) p50 ${formatNumber(report.floor.hop.latency.p50Ms)} ms p99 ${formatNumber(report.floor.hop.latency.p99Ms)} ms; ` +
        `client on a follower ${report.floor.onFollower.hops} hops + 1 fsync = ${formatNumber(report.floor.onFollower.floorMs)} ms, client on the leader ${report.floor.onLeader.hops} hops + 1 fsync = ${formatNumber(report.floor.onLeader.floorMs)} ms`,
    ]),
    ...report.systems.map((status) => `- ${status.system}: ${status.available ? `version ${status.version} (${status.detail})` : `not available: ${status.detail}`}`),
    ...report.notes.map((note) => `- ${note}`),
  ];
  return lines.join("\n");
}

export function renderMarkdown(report: CompareReport, systems: readonly SystemName[]): string {
  return [
    `# Corral vs ZooKeeper vs etcd — ${report.date}`,
    "",
    renderContext(report),
    "",
    renderMainTable(report, systems),
    "",
    "## Detail",
    "",
    renderDetailTable(report),
    "",
  ].join("\n");
}
