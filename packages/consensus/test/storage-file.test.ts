import * as fs from "node:fs/promises";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FileDurableLog,
  StorageFailedError,
  StorageInvalidInputError,
  StorageLockedError,
  StorageNotOpenError,
  StorageQueueFullError,
  StorageRecordTooLargeError,
} from "../src/storage-file.js";
import type { Snapshot } from "../src/types.js";
import { countingFileSystem, entries, entry, makeTempDirectory, openLog, plain, removeDirectory, segmentFiles } from "./storage-file-helpers.js";

let directory: string;
const open: FileDurableLog[] = [];

beforeEach(async () => {
  directory = await makeTempDirectory();
});
afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => undefined);
  await removeDirectory(directory);
});

async function start(options: Parameters<typeof openLog>[1] = {}): ReturnType<typeof openLog> {
  const opened = await openLog(directory, options);
  open.push(opened.log);
  return opened;
}

function snapshot(index: number, term: number, text = `state@${index}`): Snapshot {
  return { meta: { index, term, conf: { voters: ["a", "b", "c"], learners: ["d"] } }, data: new TextEncoder().encode(text) };
}

describe("FileDurableLog round trips", () => {
  it("starts empty", async () => {
    const { recovered } = await start();
    expect(recovered).toEqual({ hardState: null, snapshot: null, entries: [] });
  });

  it("recovers entries and the last hard state", async () => {
    const first = await start();
    await first.log.save({ hardState: { term: 1, vote: "a", commit: 0 }, entries: entries(1, 3, 1) });
    await first.log.save({ entries: [entry(4, 1, 0, 2), entry(5, 1, 1000, 1)] });
    await first.log.save({ hardState: { term: 2, vote: null, commit: 4 }, entries: [] });
    await first.log.close();
    const { recovered } = await start();
    expect(recovered.hardState).toEqual({ term: 2, vote: null, commit: 4 });
    expect(recovered.snapshot).toBeNull();
    expect(plain(recovered.entries)).toEqual(plain([...entries(1, 3, 1), entry(4, 1, 0, 2), entry(5, 1, 1000, 1)]));
  });

  it("discards the stored suffix when a batch starts at or below the last index", async () => {
    const first = await start();
    await first.log.save({ entries: entries(1, 5, 1) });
    await first.log.save({ entries: entries(3, 4, 2) });
    await first.log.save({ entries: entries(5, 5, 3) });
    await first.log.close();
    const { recovered } = await start();
    expect(plain(recovered.entries)).toEqual(plain([...entries(1, 2, 1), ...entries(3, 4, 2), ...entries(5, 5, 3)]));
  });

  it("keeps appending after a restart", async () => {
    const first = await start();
    await first.log.save({ entries: entries(1, 2, 1) });
    await first.log.close();
    const second = await start();
    await second.log.save({ entries: entries(3, 4, 1) });
    await second.log.close();
    const { recovered } = await start();
    expect(plain(recovered.entries)).toEqual(plain(entries(1, 4, 1)));
  });

  it("recovers a snapshot and only the entries after it", async () => {
    const first = await start();
    await first.log.save({ hardState: { term: 1, vote: "b", commit: 8 }, entries: entries(1, 10, 1) });
    await first.log.saveSnapshot(snapshot(6, 1));
    await first.log.close();
    const { recovered } = await start();
    expect(recovered.snapshot?.meta).toEqual(snapshot(6, 1).meta);
    expect(new TextDecoder().decode(recovered.snapshot?.data)).toBe("state@6");
    expect(plain(recovered.entries)).toEqual(plain(entries(7, 10, 1)));
    expect(recovered.hardState).toEqual({ term: 1, vote: "b", commit: 8 });
  });

  it("keeps only the latest snapshot file", async () => {
    const { log } = await start();
    await log.save({ entries: entries(1, 10, 1) });
    await log.saveSnapshot(snapshot(3, 1));
    await log.saveSnapshot(snapshot(7, 1));
    const names = (await fs.readdir(path.join(directory, "snap"))).sort();
    expect(names).toEqual(["00000000000000000007-00000000000000000001.snap"]);
  });

  it("discards the whole log for a snapshot the log does not match (Raft §7)", async () => {
    const first = await start();
    await first.log.save({ entries: entries(1, 5, 1) });
    await first.log.saveSnapshot(snapshot(8, 3));
    await first.log.save({ entries: entries(9, 10, 3) });
    await first.log.close();
    const { recovered } = await start();
    expect(recovered.snapshot?.meta.index).toBe(8);
    expect(plain(recovered.entries)).toEqual(plain(entries(9, 10, 3)));
  });

  it("discards conflicting entries after a snapshot whose term differs at its index", async () => {
    const first = await start();
    await first.log.save({ entries: entries(1, 6, 1) });
    await first.log.saveSnapshot(snapshot(4, 2));
    await first.log.save({ entries: entries(5, 5, 2) });
    await first.log.close();
    const { recovered } = await start();
    expect(plain(recovered.entries)).toEqual(plain(entries(5, 5, 2)));
  });
});

describe("FileDurableLog segments", () => {
  it("rolls to a new segment at segmentMaxBytes and recovers across segments", async () => {
    const first = await start({ segmentMaxBytes: 1024 });
    for (let index = 1; index <= 60; index++) await first.log.save({ entries: [entry(index, 1, 100)] });
    expect(first.log.stats().segments).toBeGreaterThan(5);
    const names = await segmentFiles(directory);
    expect(names.length).toBe(first.log.stats().segments);
    for (const name of names) expect((await fs.stat(path.join(directory, "wal", name))).size).toBeLessThanOrEqual(1024);
    await first.log.close();
    const { recovered } = await start({ segmentMaxBytes: 1024 });
    expect(plain(recovered.entries)).toEqual(plain(entries(1, 60, 1, 100)));
  });

  it("names segments by sequence and first index", async () => {
    const { log } = await start({ segmentMaxBytes: 512 });
    for (let index = 1; index <= 10; index++) await log.save({ entries: [entry(index, 1, 100)] });
    const names = await segmentFiles(directory);
    expect(names[0]).toBe("00000000000000000001-00000000000000000001.seg");
    expect(names[1]).toMatch(/^00000000000000000002-\d{20}\.seg$/);
  });

  it("a snapshot deletes the segments it covers entirely, and recovery still works", async () => {
    const first = await start({ segmentMaxBytes: 1024 });
    for (let index = 1; index <= 60; index++) await first.log.save({ entries: [entry(index, 1, 100)] });
    const before = await segmentFiles(directory);
    await first.log.saveSnapshot(snapshot(40, 1));
    const after = await segmentFiles(directory);
    expect(after.length).toBeLessThan(before.length);
    expect(after.length).toBeGreaterThanOrEqual(2);
    // The first remaining segment may hold entries <= 40; all before it held only such entries.
    const firstIndexOfSecond = Number(after[1]?.slice(21, 41));
    expect(firstIndexOfSecond).toBeGreaterThan(40);
    await first.log.save({ entries: [entry(61, 1, 100)] });
    await first.log.close();
    const { recovered } = await start({ segmentMaxBytes: 1024 });
    expect(recovered.snapshot?.meta.index).toBe(40);
    expect(plain(recovered.entries)).toEqual(plain(entries(41, 61, 1, 100)));
  });

  it("never deletes a segment whose entries a later truncation did not supersede", async () => {
    const first = await start({ segmentMaxBytes: 1024 });
    for (let index = 1; index <= 30; index++) await first.log.save({ entries: [entry(index, 1, 100)] });
    // Rewrite from 20 on in a later segment, then snapshot at 25.
    await first.log.save({ entries: entries(20, 30, 2, 100) });
    await first.log.saveSnapshot(snapshot(25, 2));
    await first.log.close();
    const { recovered } = await start({ segmentMaxBytes: 1024 });
    expect(recovered.snapshot?.meta.index).toBe(25);
    expect(plain(recovered.entries)).toEqual(plain(entries(26, 30, 2, 100)));
  });

  it("compact(index) deletes segments covered up to index", async () => {
    const first = await start({ segmentMaxBytes: 1024 });
    for (let index = 1; index <= 40; index++) await first.log.save({ entries: [entry(index, 1, 100)] });
    const before = await segmentFiles(directory);
    await first.log.saveSnapshot(snapshot(3, 1));
    expect((await segmentFiles(directory)).length).toBe(before.length);
    await first.log.compact(2);
    expect((await segmentFiles(directory)).length).toBe(before.length);
    // Beyond the snapshot, compaction stops at the snapshot: entries above it stay.
    await first.log.compact(30);
    await expect(first.log.compact(-1)).rejects.toBeInstanceOf(StorageInvalidInputError);
    await first.log.close();
    const { recovered } = await start({ segmentMaxBytes: 1024 });
    expect(plain(recovered.entries)).toEqual(plain(entries(4, 40, 1, 100)));
  });
});

describe("FileDurableLog group commit", () => {
  it("one fsync per save when saves are awaited one by one", async () => {
    const fileSystem = countingFileSystem();
    const { log } = await start({ fileSystem });
    for (let index = 1; index <= 5; index++) await log.save({ entries: [entry(index, 1)] });
    expect(log.stats().walSyncs).toBe(5);
    expect(fileSystem.counts.datasync).toBe(5);
  });

  it("N concurrent saves share a few fsyncs and resolve in order", async () => {
    const fileSystem = countingFileSystem();
    const { log } = await start({ fileSystem });
    const resolved: number[] = [];
    const saves = [];
    for (let index = 1; index <= 200; index++) {
      saves.push(log.save({ hardState: { term: 1, vote: null, commit: index - 1 }, entries: [entry(index, 1)] }).then(() => resolved.push(index)));
    }
    await Promise.all(saves);
    expect(resolved).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(fileSystem.counts.datasync).toBeLessThanOrEqual(3);
    expect(log.stats().savesWritten).toBe(200);
    await log.close();
    const { recovered } = await start();
    expect(recovered.entries.length).toBe(200);
    expect(recovered.hardState?.commit).toBe(199);
  });

  it("refuses saves beyond maxQueuedSaves, changing nothing", async () => {
    const { log } = await start({ maxQueuedSaves: 4 });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => log.save({ entries: [entry(i + 1, 1)] })));
    // The first is taken by the writer at once; four more fit in the queue.
    expect(outcomes.slice(0, 5).every((outcome) => outcome.status === "fulfilled")).toBe(true);
    for (const outcome of outcomes.slice(5)) {
      expect(outcome.status).toBe("rejected");
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StorageQueueFullError);
    }
    await log.save({ entries: [entry(6, 1)] });
    await log.close();
    const { recovered } = await start();
    expect(plain(recovered.entries)).toEqual(plain(entries(1, 6, 1)));
  });

  it("fsync none writes without syncing and still round trips", async () => {
    const fileSystem = countingFileSystem();
    const first = await start({ fileSystem, fsync: "none" });
    await first.log.save({ hardState: { term: 3, vote: "c", commit: 1 }, entries: entries(1, 3, 3) });
    await first.log.saveSnapshot(snapshot(1, 3));
    expect(fileSystem.counts.datasync + fileSystem.counts.sync).toBe(0);
    expect(first.log.stats().walSyncs).toBe(0);
    await first.log.close();
    const { recovered } = await start();
    expect(recovered.hardState).toEqual({ term: 3, vote: "c", commit: 1 });
    expect(plain(recovered.entries)).toEqual(plain(entries(2, 3, 3)));
  });
});

describe("FileDurableLog refuses bad input and changes nothing", () => {
  it("rejects an oversized batch with a typed error and writes nothing", async () => {
    const { log } = await start({ maxRecordBytes: 1000 });
    await log.save({ entries: [entry(1, 1)] });
    const bytesBefore = log.stats().bytesWritten;
    const error = await log.save({ entries: [entry(2, 1, 2000)] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageRecordTooLargeError);
    expect((error as StorageRecordTooLargeError).maxRecordBytes).toBe(1000);
    expect(log.stats().bytesWritten).toBe(bytesBefore);
    await log.save({ entries: [entry(2, 1)] });
    await log.close();
    const { recovered } = await start();
    expect(plain(recovered.entries)).toEqual(plain(entries(1, 2, 1)));
  });

  it("rejects gaps, terms going back, non-contiguous batches and rewrites of committed or snapshotted entries", async () => {
    const { log } = await start();
    await log.save({ hardState: { term: 2, vote: null, commit: 2 }, entries: [...entries(1, 2, 1), ...entries(3, 4, 2)] });
    const invalid = [
      { entries: [entry(6, 2)] },
      { entries: [entry(5, 1)] },
      { entries: [entry(5, 2), entry(7, 2)] },
      { entries: [entry(5, 3), entry(6, 2)] },
      { entries: [entry(2, 3)] },
      { hardState: { term: 1, vote: null, commit: 2 }, entries: [] },
      { hardState: { term: 2, vote: null, commit: -1 }, entries: [] },
      { entries: [{ index: 5, term: 2, type: 9 as 0, data: new Uint8Array(0) }] },
    ];
    for (const batch of invalid) await expect(log.save(batch)).rejects.toBeInstanceOf(StorageInvalidInputError);
    await log.saveSnapshot(snapshot(3, 2));
    await expect(log.save({ entries: [entry(3, 2)] })).rejects.toBeInstanceOf(StorageInvalidInputError);
    await expect(log.saveSnapshot(snapshot(3, 1))).rejects.toBeInstanceOf(StorageInvalidInputError);
    // An older snapshot is a no-op, as in MemoryDurableLog.
    await log.saveSnapshot(snapshot(2, 1));
    await log.save({ entries: [entry(5, 2)] });
    await log.close();
    const { recovered } = await start();
    expect(plain(recovered.entries)).toEqual(plain([entry(4, 2), entry(5, 2)]));
  });

  it("refuses calls before load and after close", async () => {
    const log = new FileDurableLog({ directory });
    await expect(log.save({ entries: [entry(1, 1)] })).rejects.toBeInstanceOf(StorageNotOpenError);
    await log.load();
    await log.close();
    await expect(log.save({ entries: [entry(1, 1)] })).rejects.toBeInstanceOf(StorageNotOpenError);
  });

  it("rejects bad options", () => {
    expect(() => new FileDurableLog({ directory, segmentMaxBytes: 0 })).toThrow(StorageInvalidInputError);
    expect(() => new FileDurableLog({ directory, maxRecordBytes: 2 ** 40 })).toThrow(StorageInvalidInputError);
  });
});

describe("FileDurableLog failures", () => {
  it("after a failed fsync every later call fails (no fsync retry)", async () => {
    const fileSystem = countingFileSystem();
    const { log } = await start({ fileSystem });
    await log.save({ entries: [entry(1, 1)] });
    fileSystem.failNextDatasync = Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
    const failed = await log.save({ entries: [entry(2, 1)] }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StorageFailedError);
    expect((failed as StorageFailedError).cause).toMatchObject({ code: "EIO" });
    await expect(log.save({ entries: [entry(3, 1)] })).rejects.toBeInstanceOf(StorageFailedError);
  });
});

describe("FileDurableLog directory lock", () => {
  it("refuses a second log on the same directory until the first closes", async () => {
    const first = await start();
    const second = new FileDurableLog({ directory });
    const error = await second.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageLockedError);
    expect((error as StorageLockedError).ownerPid).toBe(process.pid);
    await first.log.close();
    await start();
  });

  it("takes over a lock whose owner is gone, keeps one whose owner lives", async () => {
    await fs.mkdir(directory, { recursive: true });
    await fs.writeFile(path.join(directory, "LOCK"), "424242\n");
    await expect(new FileDurableLog({ directory, isProcessAlive: () => true }).load()).rejects.toBeInstanceOf(StorageLockedError);
    const { log } = await start({ isProcessAlive: (pid) => pid !== 424242 });
    expect((await fs.readFile(path.join(directory, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await log.close();
    await expect(fs.stat(path.join(directory, "LOCK"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a lock left with this process's pid by an earlier incarnation is stale", async () => {
    await fs.writeFile(path.join(directory, "LOCK"), `${process.pid}\n`);
    await start();
  });
});
