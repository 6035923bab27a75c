import { describe, expect, it } from "vitest";
import {
  RecordKind,
  decodePayload,
  decodeSnapshotFile,
  encodeBatchRecord,
  encodeResetRecord,
  encodeSegmentStartRecord,
  encodeSnapshotHead,
  scanRecords,
} from "../src/wal-format.js";
import { deletableSegmentCount } from "../src/wal-replay.js";

const big = 2 ** 40 + 17;

describe("WAL record payloads", () => {
  it("round-trip batches, segment starts and resets, with indexes beyond 32 bits", () => {
    const batch = encodeBatchRecord({ term: big, vote: "node-é", commit: big - 1 }, [
      { index: big, term: big, type: 1, data: new Uint8Array([1, 2, 3]) },
      { index: big + 1, term: big, type: 2, data: new Uint8Array(0) },
    ]);
    const start = encodeSegmentStartRecord({ seq: 3, prevIndex: big, prevTerm: 5, hardState: null });
    const reset = encodeResetRecord(big, 9);
    const scan = scanRecords(Buffer.concat([batch, start, reset]), false);
    expect(scan.kind).toBe("clean");
    const [a, b, c] = scan.records.map((record) => decodePayload(record.payload));
    expect(a).toEqual({
      kind: RecordKind.Batch,
      hardState: { term: big, vote: "node-é", commit: big - 1 },
      entries: [
        { index: big, term: big, type: 1, data: new Uint8Array([1, 2, 3]) },
        { index: big + 1, term: big, type: 2, data: new Uint8Array(0) },
      ],
    });
    expect(b).toEqual({ kind: RecordKind.SegmentStart, seq: 3, prevIndex: big, prevTerm: 5, hardState: null });
    expect(c).toEqual({ kind: RecordKind.Reset, index: big, term: 9 });
  });

  it("frames as u32 length | u32 crc32c | payload, little-endian", () => {
    const record = encodeResetRecord(1, 1);
    expect(record.readUInt32LE(0)).toBe(record.length - 8);
    expect(record[8]).toBe(RecordKind.Reset);
  });
});

describe("scanRecords", () => {
  const one = encodeResetRecord(1, 1);
  const two = encodeResetRecord(2, 2);

  it("reports a torn tail only where tails may be torn", () => {
    const bytes = Buffer.concat([one, two.subarray(0, 10)]);
    expect(scanRecords(bytes, true)).toMatchObject({ kind: "tornTail", validBytes: one.length });
    expect(scanRecords(bytes, false)).toMatchObject({ kind: "corrupt", offset: one.length });
  });

  it("calls a bad record followed by a valid one corruption", () => {
    const damaged = Buffer.from(one);
    damaged[10] = (damaged[10] as number) ^ 4;
    expect(scanRecords(Buffer.concat([damaged, two]), true)).toMatchObject({ kind: "corrupt", offset: 0 });
  });

  it("treats a zero length as invalid (zero-filled tails are torn)", () => {
    expect(scanRecords(Buffer.concat([one, Buffer.alloc(64)]), true)).toMatchObject({ kind: "tornTail", validBytes: one.length });
  });
});

describe("snapshot files", () => {
  it("round-trip and detect damage anywhere", () => {
    const meta = { index: 7, term: 2, conf: { voters: ["a", "b"], learners: [], votersOutgoing: ["a"] } };
    const data = new Uint8Array([5, 6, 7, 8]);
    const file = Buffer.concat([encodeSnapshotHead(meta, data), data]);
    expect(decodeSnapshotFile(file)).toEqual({ valid: true, meta, data });
    for (let at = 0; at < file.length; at++) {
      const damaged = Buffer.from(file);
      damaged[at] = (damaged[at] as number) ^ 1;
      expect(decodeSnapshotFile(damaged).valid).toBe(false);
    }
    expect(decodeSnapshotFile(file.subarray(0, file.length - 1)).valid).toBe(false);
  });
});

describe("deletableSegmentCount", () => {
  const segment = (lowestTouchedIndex: number): { lowestTouchedIndex: number } => ({ lowestTouchedIndex });

  it("deletes the prefix whose entries the snapshot covers, never the last segment", () => {
    // Segments appended 1-10, 11-20, 21-30.
    const segments = [segment(1), segment(11), segment(21)];
    expect(deletableSegmentCount(segments, 30, 5)).toBe(0);
    expect(deletableSegmentCount(segments, 30, 10)).toBe(1);
    expect(deletableSegmentCount(segments, 30, 25)).toBe(2);
    expect(deletableSegmentCount(segments, 30, 30)).toBe(2);
  });

  it("counts a later rewrite as superseding older entries", () => {
    // Segment 2 rewrote from 5 on: segment 1 contributes only 1-4.
    const segments = [segment(1), segment(5), segment(30)];
    expect(deletableSegmentCount(segments, 40, 4)).toBe(1);
    expect(deletableSegmentCount(segments, 40, 3)).toBe(0);
    // A reset supersedes everything before it.
    expect(deletableSegmentCount([segment(1), segment(50), segment(-Infinity)], 60, 60)).toBe(2);
  });
});
