/**
 * Crash recovery of FileDurableLog: torn tails are cut, corruption of
 * acknowledged data refuses to start (StorageCorruptionError naming file and
 * byte offset), never a silent truncation.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageCorruptionError } from "../src/storage-file.js";
import type { FileDurableLog } from "../src/storage-file.js";
import { encodeBatchRecord, encodeSnapshotHead } from "../src/wal-format.js";
import type { HardState } from "../src/types.js";
import { entries, entry, makeTempDirectory, openLog, plain, removeDirectory, segmentFiles } from "./storage-file-helpers.js";

let directory: string;

beforeEach(async () => {
  directory = await makeTempDirectory();
});
afterEach(async () => {
  await removeDirectory(directory);
});

const hardStateOne: HardState = { term: 1, vote: "a", commit: 2 };
const hardStateTwo: HardState = { term: 2, vote: "b", commit: 5 };

async function withLog(options: Parameters<typeof openLog>[1], body: (log: FileDurableLog) => Promise<void>): Promise<void> {
  const { log } = await openLog(directory, options);
  try {
    await body(log);
  } finally {
    await log.close();
  }
}

async function lastSegmentPath(): Promise<string> {
  const names = await segmentFiles(directory);
  return path.join(directory, "wal", names[names.length - 1] as string);
}

async function fileSize(file: string): Promise<number> {
  return (await fs.stat(file)).size;
}

/** Writes records A, B (closing after each to learn offsets) and C (the last record); returns their offsets. */
async function writeThreeRecords(): Promise<{ file: string; startB: number; startC: number; bytes: Buffer }> {
  await withLog({}, (log) => log.save({ hardState: hardStateOne, entries: entries(1, 3, 1) }));
  const file = await lastSegmentPath();
  const startB = await fileSize(file);
  await withLog({}, (log) => log.save({ entries: entries(4, 5, 1) }));
  const startC = await fileSize(file);
  await withLog({}, (log) => log.save({ hardState: hardStateTwo, entries: entries(6, 8, 2) }));
  return { file, startB, startC, bytes: await fs.readFile(file) };
}

async function expectCorruption(file: string, offset: number): Promise<StorageCorruptionError> {
  const error = await openLog(directory).then(
    async ({ log }) => {
      await log.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageCorruptionError);
  const corruption = error as StorageCorruptionError;
  expect(corruption.code).toBe("StorageCorruption");
  expect(corruption.file).toBe(file);
  expect(corruption.offset).toBe(offset);
  return corruption;
}

describe("torn tail", () => {
  it("truncating the log at every byte offset of the last record recovers exactly the records before it", async () => {
    const { file, startC, bytes } = await writeThreeRecords();
    expect(bytes.length).toBeGreaterThan(startC + 8);
    for (let cut = startC; cut < bytes.length; cut++) {
      await fs.writeFile(file, bytes.subarray(0, cut));
      const { log, recovered } = await openLog(directory);
      await log.close();
      expect(plain(recovered.entries)).toEqual(plain(entries(1, 5, 1)));
      // The last hard state written before the torn record, never a mix.
      expect(recovered.hardState).toEqual(hardStateOne);
      expect(await fileSize(file)).toBe(startC);
    }
    await fs.writeFile(file, bytes);
    const { log, recovered } = await openLog(directory);
    await log.close();
    expect(plain(recovered.entries)).toEqual(plain([...entries(1, 5, 1), ...entries(6, 8, 2)]));
    expect(recovered.hardState).toEqual(hardStateTwo);
  });

  it("appends correctly after cutting a torn tail", async () => {
    const { file, startC, bytes } = await writeThreeRecords();
    await fs.writeFile(file, bytes.subarray(0, startC + 5));
    await withLog({}, (log) => log.save({ entries: entries(6, 6, 3) }));
    const { log, recovered } = await openLog(directory);
    await log.close();
    expect(plain(recovered.entries)).toEqual(plain([...entries(1, 5, 1), entry(6, 3)]));
  });

  it("a flipped bit anywhere in the last record is a torn tail", async () => {
    const { file, startC, bytes } = await writeThreeRecords();
    for (let at = startC; at < bytes.length; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] as number) ^ (1 << at % 8);
      await fs.writeFile(file, damaged);
      const { log, recovered } = await openLog(directory);
      await log.close();
      expect(plain(recovered.entries)).toEqual(plain(entries(1, 5, 1)));
      expect(recovered.hardState).toEqual(hardStateOne);
    }
  });

  it("zeros after the last record (a preallocated or half-written tail) are a torn tail", async () => {
    const { file, bytes } = await writeThreeRecords();
    await fs.writeFile(file, Buffer.concat([bytes, Buffer.alloc(4096)]));
    const { log, recovered } = await openLog(directory);
    await log.close();
    expect(recovered.entries.length).toBe(8);
    expect(await fileSize(file)).toBe(bytes.length);
  });

  it("a crash at any point while rolling to a new segment keeps the old state", async () => {
    const options = { segmentMaxBytes: 600 };
    await withLog(options, async (log) => {
      for (let index = 1; index <= 4; index++) await log.save({ hardState: { term: 1, vote: null, commit: index - 1 }, entries: [entry(index, 1, 100)] });
    });
    const segmentsBefore = await segmentFiles(directory);
    await withLog(options, (log) => log.save({ hardState: { term: 2, vote: "z", commit: 4 }, entries: [entry(5, 2, 400)] }));
    const segmentsAfter = await segmentFiles(directory);
    expect(segmentsAfter.length).toBe(segmentsBefore.length + 1);
    const newSegment = await lastSegmentPath();
    const bytes = await fs.readFile(newSegment);
    // Every offset through the start record and the next header, then a stride through the payload.
    for (let cut = 0; cut < bytes.length; cut += cut < 96 ? 1 : 23) {
      await fs.writeFile(newSegment, bytes.subarray(0, cut));
      const { log, recovered } = await openLog(directory, options);
      await log.close();
      expect(plain(recovered.entries)).toEqual(plain(entries(1, 4, 1, 100)));
      expect(recovered.hardState).toEqual({ term: 1, vote: null, commit: 3 });
    }
  });
});

describe("corruption refuses to start", () => {
  it("a flipped bit anywhere in a middle record is refused with the file and the record's offset", async () => {
    const { file, startB, startC, bytes } = await writeThreeRecords();
    for (let at = startB; at < startC; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] as number) ^ (1 << at % 8);
      await fs.writeFile(file, damaged);
      await expectCorruption(file, startB);
    }
    // Refusing changed nothing: repaired, the log is whole.
    await fs.writeFile(file, bytes);
    const { log, recovered } = await openLog(directory);
    await log.close();
    expect(recovered.entries.length).toBe(8);
  });

  it("a flipped bit in the last record of a segment that is not the last is refused", async () => {
    const options = { segmentMaxBytes: 600 };
    await withLog(options, async (log) => {
      for (let index = 1; index <= 12; index++) await log.save({ entries: [entry(index, 1, 100)] });
    });
    const names = await segmentFiles(directory);
    expect(names.length).toBeGreaterThan(2);
    const first = path.join(directory, "wal", names[0] as string);
    const bytes = await fs.readFile(first);
    const damaged = Buffer.from(bytes);
    damaged[bytes.length - 1] = (damaged[bytes.length - 1] as number) ^ 0x10;
    await fs.writeFile(first, damaged);
    const error = await openLog(directory, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect((error as StorageCorruptionError).file).toBe(first);
    expect((error as StorageCorruptionError).offset).toBeGreaterThan(0);
    expect((error as StorageCorruptionError).offset).toBeLessThan(bytes.length);
  });

  it("a missing middle segment is refused", async () => {
    const options = { segmentMaxBytes: 600 };
    await withLog(options, async (log) => {
      for (let index = 1; index <= 12; index++) await log.save({ entries: [entry(index, 1, 100)] });
    });
    const names = await segmentFiles(directory);
    await fs.unlink(path.join(directory, "wal", names[1] as string));
    const error = await openLog(directory, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect((error as StorageCorruptionError).file).toBe(path.join(directory, "wal", names[2] as string));
  });

  it("a well-formed record that breaks index continuity is refused, not truncated", async () => {
    const { file, bytes } = await writeThreeRecords();
    await fs.writeFile(file, Buffer.concat([bytes, encodeBatchRecord(null, entries(20, 21, 2))]));
    await expectCorruption(file, bytes.length);
  });

  it("a well-formed record whose term goes back is refused", async () => {
    const { file, bytes } = await writeThreeRecords();
    await fs.writeFile(file, Buffer.concat([bytes, encodeBatchRecord(null, entries(9, 9, 1))]));
    const corruption = await expectCorruption(file, bytes.length);
    expect(corruption.reason).toMatch(/term/);
  });

  it("a damaged snapshot file is refused", async () => {
    await withLog({}, async (log) => {
      await log.save({ entries: entries(1, 5, 1) });
      await log.saveSnapshot({ meta: { index: 3, term: 1, conf: { voters: ["a"], learners: [] } }, data: new Uint8Array(100).fill(7) });
    });
    const snapshotFile = path.join(directory, "snap", "00000000000000000003-00000000000000000001.snap");
    const bytes = await fs.readFile(snapshotFile);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 1;
    await fs.writeFile(snapshotFile, bytes);
    const error = await openLog(directory).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect((error as StorageCorruptionError).file).toBe(snapshotFile);
  });
});

describe("snapshot crash points", () => {
  it("a leftover partial temp snapshot is ignored and removed", async () => {
    await withLog({}, async (log) => {
      await log.save({ entries: entries(1, 5, 1) });
      await log.saveSnapshot({ meta: { index: 2, term: 1, conf: { voters: ["a"], learners: [] } }, data: new Uint8Array([1, 2]) });
    });
    const temp = path.join(directory, "snap", "00000000000000000004-00000000000000000001.snap.tmp");
    await fs.writeFile(temp, Buffer.from("half a snapshot"));
    const { log, recovered } = await openLog(directory);
    await log.close();
    expect(recovered.snapshot?.meta.index).toBe(2);
    expect(plain(recovered.entries)).toEqual(plain(entries(3, 5, 1)));
    await expect(fs.stat(temp)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a crash after a mismatching snapshot's rename but before the WAL reset is repaired at load", async () => {
    await withLog({}, (log) => log.save({ entries: entries(1, 5, 1) }));
    const meta = { index: 8, term: 3, conf: { voters: ["a"], learners: [] } };
    const data = new Uint8Array([9]);
    await fs.writeFile(path.join(directory, "snap", "00000000000000000008-00000000000000000003.snap"), Buffer.concat([encodeSnapshotHead(meta, data), data]));
    await withLog({}, async (log) => {
      await log.save({ entries: entries(9, 10, 3) });
    });
    const { log, recovered } = await openLog(directory);
    await log.close();
    expect(recovered.snapshot?.meta.index).toBe(8);
    expect(plain(recovered.entries)).toEqual(plain(entries(9, 10, 3)));
  });
});
