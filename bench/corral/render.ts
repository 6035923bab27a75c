/** The `corral bench` table: one row per workload, throughput and latency p50/p95/p99/max. */
import type { WorkloadResult } from "../compare/workloads.js";

export interface BenchError {
  readonly kind: "error";
  readonly workload: string;
  readonly message: string;
}

export type BenchRow = WorkloadResult | BenchError;

function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, index) => (index < 2 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0))).join("  ");
}

export function renderBenchTable(rows: readonly BenchRow[]): string {
  const header = ["workload", "clients×depth", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"];
  const body: string[][] = [];
  const notes: string[] = [];
  for (const result of rows) {
    if (result.kind === "throughput") {
      const latency = result.latency;
      body.push([result.workload === "setData" || result.workload === "create" || result.workload === "mixed" ? `${result.workload} (${result.payloadBytes} B)` : result.workload,
        `${result.clients}×${result.depth}`, formatNumber(result.opsPerSecond), formatNumber(latency.p50Ms), formatNumber(latency.p95Ms), formatNumber(latency.p99Ms), formatNumber(latency.maxMs), String(result.errors)]);
      if (result.firstError !== undefined) notes.push(`${result.workload}: first error: ${result.firstError}`);
    } else if (result.kind === "failover") {
      const latency = result.latency;
      body.push([`failover (writes, killed ${result.killedMember})`, `${result.clients}×${result.depth}`, formatNumber(result.preKillOpsPerSecond), formatNumber(latency.p50Ms), formatNumber(latency.p95Ms), formatNumber(latency.p99Ms), formatNumber(latency.maxMs), String(result.errors)]);
      const ms = (value: number | null): string => (value === null ? "none" : `${formatNumber(value)} ms`);
      notes.push(`failover: kill → new leader (server side) ${ms(result.electionMs)}; kill → first acknowledged write ${ms(result.firstWriteMs)} (${result.firstWriteCriterion}); ` +
        `kill → 80 % of pre-kill throughput ${ms(result.fullThroughputMs)}; sessions survived ${result.sessionsSurvived}/${result.sessionsTotal}`);
    } else {
      body.push([result.workload, "", "", "", "", "", "", "error"]);
      notes.push(`${result.workload}: ${result.message}`);
    }
  }
  const widths = header.map((cell, index) => Math.max(cell.length, ...body.map((line) => (line[index] ?? "").length)));
  return [pad(header, widths), ...body.map((line) => pad(line, widths)), ...(notes.length === 0 ? [] : ["", ...notes])].join("\n");
}
