/**
 * WAL micro-benchmark: appends/s and fsync latency of FileDurableLog for
 * 100-byte entries, one save (one fsync) at a time, batch sizes 1, 16, 256.
 *
 *   pnpm bench wal [--seconds 2] [--fsync always|none] [--dir /path/on/the/disk/to/test]
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FileDurableLog, liveWalFileSystem } from "@corral/consensus";
import type { Entry, FsyncPolicy, WalFileSystem } from "@corral/consensus";

const ENTRY_BYTES = 100;
const BATCH_SIZES = [1, 16, 256];

function option(args: readonly string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? (args[at + 1] as string) : fallback;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** The live file system, timing every fdatasync. */
function timedFileSystem(syncMs: number[]): WalFileSystem {
  return {
    ...liveWalFileSystem,
    open: async (file, flags) => {
      const handle = await liveWalFileSystem.open(file, flags);
      return {
        write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
        datasync: async () => {
          const started = performance.now();
          await handle.datasync();
          syncMs.push(performance.now() - started);
        },
        sync: () => handle.sync(),
        truncate: (length) => handle.truncate(length),
        close: () => handle.close(),
      };
    },
  };
}

async function run(batchSize: number, seconds: number, fsyncPolicy: FsyncPolicy, parent: string): Promise<string> {
  const directory = await fs.mkdtemp(path.join(parent, "corral-bench-wal-"));
  const syncMs: number[] = [];
  const saveMs: number[] = [];
  const log = new FileDurableLog({ directory, fsync: fsyncPolicy, fileSystem: timedFileSystem(syncMs) });
  await log.load();
  const data = new Uint8Array(ENTRY_BYTES).fill(0x61);
  let nextIndex = 1;
  let appended = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    while (performance.now() < deadline) {
      const batch: Entry[] = [];
      for (let i = 0; i < batchSize; i++) batch.push({ index: nextIndex++, term: 1, type: 0, data });
      const saveStarted = performance.now();
      await log.save({ hardState: { term: 1, vote: null, commit: nextIndex - 1 - batchSize }, entries: batch });
      saveMs.push(performance.now() - saveStarted);
      appended += batchSize;
    }
  } finally {
    await log.close();
    await fs.rm(directory, { recursive: true, force: true });
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  syncMs.sort((a, b) => a - b);
  saveMs.sort((a, b) => a - b);
  const format = (value: number): string => (Number.isNaN(value) ? "-" : value.toFixed(3));
  return [
    String(batchSize).padStart(5),
    String(Math.round(appended / elapsedSeconds)).padStart(12),
    String(Math.round(saveMs.length / elapsedSeconds)).padStart(9),
    format(percentile(syncMs, 50)).padStart(10),
    format(percentile(syncMs, 99)).padStart(10),
    format(percentile(saveMs, 50)).padStart(10),
    format(percentile(saveMs, 99)).padStart(10),
  ].join(" ");
}

/** Group commit: `writers` saves of one entry always in flight; reports how many saves each fsync carried. */
async function runConcurrent(writers: number, seconds: number, fsyncPolicy: FsyncPolicy, parent: string): Promise<string> {
  const directory = await fs.mkdtemp(path.join(parent, "corral-bench-wal-"));
  const syncMs: number[] = [];
  const log = new FileDurableLog({ directory, fsync: fsyncPolicy, fileSystem: timedFileSystem(syncMs), maxQueuedSaves: writers });
  await log.load();
  const data = new Uint8Array(ENTRY_BYTES).fill(0x62);
  let nextIndex = 1;
  let appended = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  // Each writer issues its next save as soon as its previous one resolves; indexes are taken synchronously, so in order.
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await log.save({ entries: [{ index: nextIndex++, term: 1, type: 0, data }] });
      appended++;
    }
  };
  try {
    await Promise.all(Array.from({ length: writers }, writer));
  } finally {
    await log.close();
    await fs.rm(directory, { recursive: true, force: true });
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const syncs = log.stats().walSyncs;
  syncMs.sort((a, b) => a - b);
  const head = `${writers} concurrent writers, 1 entry per save: ${Math.round(appended / elapsedSeconds)} appends/s, ${syncs} fsyncs for ${appended} saves`;
  if (syncs === 0) return `${head} (no fsync)`;
  return `${head} (${(appended / syncs).toFixed(1)} saves per fsync), fsync p50 ${percentile(syncMs, 50).toFixed(3)} ms p99 ${percentile(syncMs, 99).toFixed(3)} ms`;
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(option(args, "seconds", "2"));
  const fsyncPolicy = option(args, "fsync", "always") as FsyncPolicy;
  const parent = option(args, "dir", os.tmpdir());
  process.stdout.write(`WAL bench: ${ENTRY_BYTES}-byte entries, one save at a time, fsync=${fsyncPolicy}, ${seconds}s per row, dir=${parent}\n`);
  process.stdout.write(" batch  appends/s    saves/s  fsync p50  fsync p99   save p50   save p99   (ms)\n");
  for (const batchSize of BATCH_SIZES) process.stdout.write(`${await run(batchSize, seconds, fsyncPolicy, parent)}\n`);
  process.stdout.write(`${await runConcurrent(64, seconds, fsyncPolicy, parent)}\n`);
}
