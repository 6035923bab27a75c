/**
 * What the numbers were measured on: cores, CPU model, memory, and the fsync
 * latency of the disk under the results directory, measured in the same run
 * (4 KiB write + fdatasync, the shape of a consensus log append).
 */
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type as osType } from "node:os";
import { join } from "node:path";
import { LatencyHistogram, type LatencySummary } from "./histogram.js";

export interface FsyncMeasurement {
  readonly directory: string;
  readonly writeBytes: number;
  readonly iterations: number;
  readonly latency: LatencySummary;
}

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** 1/5/15-minute load averages when the run started: other work on the machine skews every number. */
  readonly loadAverage: readonly number[];
  readonly fsync: FsyncMeasurement;
}

/**
 * Appends `writeBytes` and fdatasyncs, `iterations` times (bounded also by
 * `maxDurationMs`), in a temp file under `directory`.
 */
export function measureFsync(directory: string, iterations = 500, writeBytes = 4096, maxDurationMs = 10_000): FsyncMeasurement {
  mkdirSync(directory, { recursive: true });
  const scratch = mkdtempSync(join(directory, ".fsync-probe-"));
  const histogram = new LatencyHistogram();
  const block = Buffer.alloc(writeBytes, 0x5a);
  const deadlineNs = process.hrtime.bigint() + BigInt(maxDurationMs) * 1_000_000n;
  try {
    const descriptor = openSync(join(scratch, "probe"), "w");
    try {
      for (let index = 0; index < iterations && process.hrtime.bigint() < deadlineNs; index += 1) {
        const startNs = process.hrtime.bigint();
        writeSync(descriptor, block);
        fdatasyncSync(descriptor);
        histogram.recordNanoseconds(process.hrtime.bigint() - startNs);
      }
    } finally {
      closeSync(descriptor);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { directory, writeBytes, iterations: histogram.count, latency: histogram.summary() };
}

export function describeMachine(resultsDirectory: string): MachineInfo {
  const processors = cpus();
  return {
    cores: processors.length,
    cpuModel: processors[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    fsync: measureFsync(resultsDirectory),
  };
}
