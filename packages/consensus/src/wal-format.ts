/**
 * The on-disk formats of the file log, as pure functions over bytes (no I/O),
 * so framing, torn tails and corruption are testable without a disk.
 *
 * WAL record:  u32 payloadLength | u32 crc32c(payload) | payload   (little-endian)
 * Payloads (first byte = kind):
 *   SegmentStart  kind=1 | seq u64 | prevIndex u64 | prevTerm u64 | hasHardState u8 | [HardState]
 *                 First record of every segment: where the log stands when the segment
 *                 begins, so the older segments can be deleted and a missing one detected.
 *   Batch         kind=2 | flags u8 (1 = HardState, 2 = entries) | [HardState] |
 *                 [firstIndex u64 | count u32 | count x (term u64 | type u8 | dataLength u32 | data)]
 *                 One `save()` = one record, so a crash keeps all of a save or none of it.
 *                 A batch whose firstIndex <= the last stored index first discards the
 *                 stored suffix from firstIndex on (the truncation marker is implicit).
 *   Reset         kind=3 | index u64 | term u64
 *                 A snapshot was installed that the log does not match (Raft §7):
 *                 every stored entry is discarded and the log continues after `index`.
 * HardState:     term u64 | commit u64 | voteLength u16 (0xFFFF = no vote) | vote (UTF-8)
 * u64 values are JavaScript safe integers stored as two u32 (low, high).
 *
 * Snapshot file: a 32-byte header
 *   "CRSN" | version u32 | metaLength u32 | dataLength u64 | metaCrc u32 | dataCrc u32 | headerCrc u32
 * then the meta JSON ({index, term, conf}) and the data.
 */
import { crc32c } from "./crc32c.js";
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from "./types.js";

export const RECORD_HEADER_BYTES = 8;
/** No configuration may raise the record size above this; the scanner uses it to judge lengths. */
export const MAX_RECORD_BYTES_LIMIT = 256 * 1024 * 1024;
/** Vote (a node id) length bound in the hard state encoding. */
export const MAX_VOTE_BYTES = 1024;

export const RecordKind = { SegmentStart: 1, Batch: 2, Reset: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

const BATCH_HAS_HARD_STATE = 1;
const BATCH_HAS_ENTRIES = 2;
const NO_VOTE = 0xffff;
const ENTRY_HEADER_BYTES = 8 + 1 + 4;
const TWO_POW_32 = 0x1_0000_0000;
/** High word bound that keeps a u64 inside Number.MAX_SAFE_INTEGER. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

export interface SegmentStartRecord {
  readonly kind: typeof RecordKind.SegmentStart;
  readonly seq: number;
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly hardState: HardState | null;
}

export interface BatchRecord {
  readonly kind: typeof RecordKind.Batch;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
}

export interface ResetRecord {
  readonly kind: typeof RecordKind.Reset;
  readonly index: number;
  readonly term: number;
}

export type WalRecord = SegmentStartRecord | BatchRecord | ResetRecord;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------- encoding

function writeU64(buffer: Buffer, offset: number, value: number): number {
  buffer.writeUInt32LE(value % TWO_POW_32, offset);
  buffer.writeUInt32LE(Math.floor(value / TWO_POW_32), offset + 4);
  return offset + 8;
}

function hardStateBytes(voteBytes: Uint8Array | null): number {
  return 8 + 8 + 2 + (voteBytes === null ? 0 : voteBytes.length);
}

function encodeVote(hardState: HardState | null): Uint8Array | null {
  return hardState === null || hardState.vote === null ? null : textEncoder.encode(hardState.vote);
}

function writeHardState(buffer: Buffer, offset: number, hardState: HardState, voteBytes: Uint8Array | null): number {
  let position = writeU64(buffer, offset, hardState.term);
  position = writeU64(buffer, position, hardState.commit);
  if (voteBytes === null) {
    buffer.writeUInt16LE(NO_VOTE, position);
    return position + 2;
  }
  buffer.writeUInt16LE(voteBytes.length, position);
  buffer.set(voteBytes, position + 2);
  return position + 2 + voteBytes.length;
}

/** Fills in the frame header of a record whose payload is already in place. */
function seal(record: Buffer): Buffer {
  const payloadLength = record.length - RECORD_HEADER_BYTES;
  record.writeUInt32LE(payloadLength, 0);
  record.writeUInt32LE(crc32c(record, RECORD_HEADER_BYTES, record.length), 4);
  return record;
}

/** Encoded size of a batch record (header included), without encoding it. */
export function batchRecordBytes(hardState: HardState | null, entries: readonly Entry[]): number {
  let size = RECORD_HEADER_BYTES + 2;
  if (hardState !== null) size += hardStateBytes(encodeVote(hardState));
  if (entries.length > 0) {
    size += 8 + 4;
    for (const entry of entries) size += ENTRY_HEADER_BYTES + entry.data.length;
  }
  return size;
}

/** One framed Batch record in one Buffer. Entries must be contiguous (checked by the caller). */
export function encodeBatchRecord(hardState: HardState | null, entries: readonly Entry[]): Buffer {
  const voteBytes = encodeVote(hardState);
  const record = Buffer.allocUnsafe(batchRecordBytes(hardState, entries));
  let position = RECORD_HEADER_BYTES;
  record[position++] = RecordKind.Batch;
  record[position++] = (hardState === null ? 0 : BATCH_HAS_HARD_STATE) | (entries.length === 0 ? 0 : BATCH_HAS_ENTRIES);
  if (hardState !== null) position = writeHardState(record, position, hardState, voteBytes);
  const first = entries[0];
  if (first !== undefined) {
    position = writeU64(record, position, first.index);
    record.writeUInt32LE(entries.length, position);
    position += 4;
    for (const entry of entries) {
      position = writeU64(record, position, entry.term);
      record[position++] = entry.type;
      record.writeUInt32LE(entry.data.length, position);
      position += 4;
      record.set(entry.data, position);
      position += entry.data.length;
    }
  }
  return seal(record);
}

export function encodeSegmentStartRecord(start: Omit<SegmentStartRecord, "kind">): Buffer {
  const voteBytes = encodeVote(start.hardState);
  const size = RECORD_HEADER_BYTES + 1 + 24 + 1 + (start.hardState === null ? 0 : hardStateBytes(voteBytes));
  const record = Buffer.allocUnsafe(size);
  let position = RECORD_HEADER_BYTES;
  record[position++] = RecordKind.SegmentStart;
  position = writeU64(record, position, start.seq);
  position = writeU64(record, position, start.prevIndex);
  position = writeU64(record, position, start.prevTerm);
  record[position++] = start.hardState === null ? 0 : 1;
  if (start.hardState !== null) writeHardState(record, position, start.hardState, voteBytes);
  return seal(record);
}

export function encodeResetRecord(index: number, term: number): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + 1 + 16);
  record[RECORD_HEADER_BYTES] = RecordKind.Reset;
  writeU64(record, RECORD_HEADER_BYTES + 1, index);
  writeU64(record, RECORD_HEADER_BYTES + 9, term);
  return seal(record);
}

/** The UTF-8 length of a vote, for validating input before encoding it. */
export function voteByteLength(vote: string): number {
  return textEncoder.encode(vote).length;
}

// ---------------------------------------------------------------- decoding

/** Thrown inside the decoder only; callers turn it into a StorageCorruptionError. */
export class PayloadDecodeError extends Error {
  readonly _tag = "PayloadDecodeError";
  readonly code = "PayloadDecode";
  constructor(readonly reason: string) {
    super(reason);
    this.name = "PayloadDecodeError";
  }
}

class Reader {
  private position = 0;
  constructor(private readonly bytes: Buffer) {}

  private need(count: number): void {
    if (this.position + count > this.bytes.length) throw new PayloadDecodeError(`payload ends early (needs ${count} bytes at ${this.position})`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.position++] as number;
  }
  u16(): number {
    this.need(2);
    const value = this.bytes.readUInt16LE(this.position);
    this.position += 2;
    return value;
  }
  u32(): number {
    this.need(4);
    const value = this.bytes.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }
  u64(): number {
    const low = this.u32();
    const high = this.u32();
    if (high > MAX_SAFE_HIGH_WORD) throw new PayloadDecodeError("u64 value beyond Number.MAX_SAFE_INTEGER");
    return high * TWO_POW_32 + low;
  }
  bytesCopy(count: number): Uint8Array {
    this.need(count);
    // A copy, so recovered entries do not pin a whole segment buffer in memory.
    const copy = new Uint8Array(count);
    copy.set(this.bytes.subarray(this.position, this.position + count));
    this.position += count;
    return copy;
  }
  end(): void {
    if (this.position !== this.bytes.length) throw new PayloadDecodeError(`${this.bytes.length - this.position} trailing bytes in payload`);
  }
}

function readHardState(reader: Reader): HardState {
  const term = reader.u64();
  const commit = reader.u64();
  const voteLength = reader.u16();
  if (voteLength === NO_VOTE) return { term, commit, vote: null };
  if (voteLength > MAX_VOTE_BYTES) throw new PayloadDecodeError(`vote of ${voteLength} bytes`);
  let vote: string;
  try {
    vote = textDecoder.decode(reader.bytesCopy(voteLength));
  } catch (_error) {
    throw new PayloadDecodeError("vote is not UTF-8");
  }
  return { term, commit, vote };
}

function isEntryType(value: number): value is EntryType {
  return value === 0 || value === 1 || value === 2;
}

/** Decodes a record payload (checksum already verified). Throws PayloadDecodeError. */
export function decodePayload(payload: Buffer): WalRecord {
  const reader = new Reader(payload);
  const kind = reader.u8();
  switch (kind) {
    case RecordKind.SegmentStart: {
      const seq = reader.u64();
      const prevIndex = reader.u64();
      const prevTerm = reader.u64();
      const hasHardState = reader.u8();
      if (hasHardState > 1) throw new PayloadDecodeError(`bad hard state flag ${hasHardState}`);
      const hardState = hasHardState === 1 ? readHardState(reader) : null;
      reader.end();
      return { kind, seq, prevIndex, prevTerm, hardState };
    }
    case RecordKind.Batch: {
      const flags = reader.u8();
      if ((flags & ~(BATCH_HAS_HARD_STATE | BATCH_HAS_ENTRIES)) !== 0) throw new PayloadDecodeError(`bad batch flags ${flags}`);
      const hardState = flags & BATCH_HAS_HARD_STATE ? readHardState(reader) : null;
      const entries: Entry[] = [];
      if (flags & BATCH_HAS_ENTRIES) {
        const firstIndex = reader.u64();
        const count = reader.u32();
        if (count === 0) throw new PayloadDecodeError("entries flag with zero entries");
        if (firstIndex < 1) throw new PayloadDecodeError("entry index 0");
        for (let i = 0; i < count; i++) {
          const term = reader.u64();
          const type = reader.u8();
          if (!isEntryType(type)) throw new PayloadDecodeError(`unknown entry type ${type}`);
          const length = reader.u32();
          entries.push({ index: firstIndex + i, term, type, data: reader.bytesCopy(length) });
        }
      }
      reader.end();
      return { kind, hardState, entries };
    }
    case RecordKind.Reset: {
      const index = reader.u64();
      const term = reader.u64();
      reader.end();
      return { kind, index, term };
    }
    default:
      throw new PayloadDecodeError(`unknown record kind ${kind}`);
  }
}

// ---------------------------------------------------------------- framing

export interface FramedRecord {
  /** Byte offset of the record header in its file. */
  readonly offset: number;
  readonly payload: Buffer;
}

export type FrameCheck =
  | { readonly valid: true; readonly payloadLength: number }
  | { readonly valid: false; readonly reason: string };

/** Whether a well-formed record (length, bounds, checksum) starts at `offset`. */
export function checkFrame(bytes: Buffer, offset: number, maxRecordBytes: number): FrameCheck {
  if (offset + RECORD_HEADER_BYTES > bytes.length) return { valid: false, reason: "incomplete record header" };
  const payloadLength = bytes.readUInt32LE(offset);
  if (payloadLength === 0) return { valid: false, reason: "zero record length" };
  if (payloadLength > maxRecordBytes) return { valid: false, reason: `record length ${payloadLength} exceeds ${maxRecordBytes}` };
  const end = offset + RECORD_HEADER_BYTES + payloadLength;
  if (end > bytes.length) return { valid: false, reason: "incomplete record payload" };
  if (crc32c(bytes, offset + RECORD_HEADER_BYTES, end) !== bytes.readUInt32LE(offset + 4)) return { valid: false, reason: "checksum mismatch" };
  return { valid: true, payloadLength };
}

/** Whether a well-formed record with a known kind starts at any offset in [from, bytes.length). */
export function findValidRecordAfter(bytes: Buffer, from: number, maxRecordBytes: number): number | null {
  for (let offset = from; offset + RECORD_HEADER_BYTES < bytes.length; offset++) {
    const payloadLength = bytes.readUInt32LE(offset);
    if (payloadLength === 0 || payloadLength > maxRecordBytes) continue;
    if (offset + RECORD_HEADER_BYTES + payloadLength > bytes.length) continue;
    const kind = bytes[offset + RECORD_HEADER_BYTES] as number;
    if (kind < RecordKind.SegmentStart || kind > RecordKind.Reset) continue;
    if (crc32c(bytes, offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + payloadLength) === bytes.readUInt32LE(offset + 4)) return offset;
  }
  return null;
}

export type ScanResult =
  | { readonly kind: "clean"; readonly records: readonly FramedRecord[] }
  /** The file ends in a record cut short or damaged with nothing valid after it: drop bytes from `validBytes`. */
  | { readonly kind: "tornTail"; readonly records: readonly FramedRecord[]; readonly validBytes: number; readonly reason: string }
  /** A damaged record with valid data after it (or anywhere in a segment that may not have a torn tail). */
  | { readonly kind: "corrupt"; readonly records: readonly FramedRecord[]; readonly offset: number; readonly reason: string };

/**
 * Splits a segment's bytes into records. Only the last segment may end in a
 * torn tail (`tailMayBeTorn`): a crash interrupts only the newest write. A bad
 * record followed by any valid record is corruption of acknowledged data.
 */
export function scanRecords(bytes: Buffer, tailMayBeTorn: boolean, maxRecordBytes: number = MAX_RECORD_BYTES_LIMIT): ScanResult {
  const records: FramedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const check = checkFrame(bytes, offset, maxRecordBytes);
    if (check.valid) {
      const start = offset + RECORD_HEADER_BYTES;
      records.push({ offset, payload: bytes.subarray(start, start + check.payloadLength) });
      offset = start + check.payloadLength;
      continue;
    }
    if (!tailMayBeTorn) return { kind: "corrupt", records, offset, reason: check.reason };
    const next = findValidRecordAfter(bytes, offset + 1, maxRecordBytes);
    if (next !== null) return { kind: "corrupt", records, offset, reason: `${check.reason}; a valid record follows at byte ${next}` };
    return { kind: "tornTail", records, validBytes: offset, reason: check.reason };
  }
  return { kind: "clean", records };
}

// ---------------------------------------------------------------- snapshot files

export const SNAPSHOT_HEADER_BYTES = 32;
const SNAPSHOT_MAGIC = 0x4e535243; // "CRSN" little-endian
const SNAPSHOT_VERSION = 1;

/** Header + meta JSON of a snapshot file; the data follows it unchanged. */
export function encodeSnapshotHead(meta: SnapshotMeta, data: Uint8Array): Buffer {
  const conf: ConfState = {
    voters: [...meta.conf.voters],
    learners: [...meta.conf.learners],
    ...(meta.conf.votersOutgoing === undefined ? {} : { votersOutgoing: [...meta.conf.votersOutgoing] }),
  };
  const metaBytes = textEncoder.encode(JSON.stringify({ index: meta.index, term: meta.term, conf }));
  const head = Buffer.alloc(SNAPSHOT_HEADER_BYTES + metaBytes.length);
  head.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  head.writeUInt32LE(SNAPSHOT_VERSION, 4);
  head.writeUInt32LE(metaBytes.length, 8);
  writeU64(head, 12, data.length);
  head.writeUInt32LE(crc32c(metaBytes), 20);
  head.writeUInt32LE(crc32c(data), 24);
  head.writeUInt32LE(crc32c(head, 0, 28), 28);
  head.set(metaBytes, SNAPSHOT_HEADER_BYTES);
  return head;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export type SnapshotDecode =
  | { readonly valid: true; readonly meta: SnapshotMeta; readonly data: Uint8Array }
  | { readonly valid: false; readonly offset: number; readonly reason: string };

/** Validates and decodes a whole snapshot file. */
export function decodeSnapshotFile(bytes: Buffer): SnapshotDecode {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return { valid: false, offset: 0, reason: "file shorter than the snapshot header" };
  if (bytes.readUInt32LE(0) !== SNAPSHOT_MAGIC) return { valid: false, offset: 0, reason: "bad magic" };
  if (crc32c(bytes, 0, 28) !== bytes.readUInt32LE(28)) return { valid: false, offset: 0, reason: "header checksum mismatch" };
  if (bytes.readUInt32LE(4) !== SNAPSHOT_VERSION) return { valid: false, offset: 4, reason: `unknown version ${bytes.readUInt32LE(4)}` };
  const metaLength = bytes.readUInt32LE(8);
  const dataLength = bytes.readUInt32LE(16) * TWO_POW_32 + bytes.readUInt32LE(12);
  const metaEnd = SNAPSHOT_HEADER_BYTES + metaLength;
  if (metaEnd + dataLength !== bytes.length) return { valid: false, offset: 8, reason: `file is ${bytes.length} bytes, header says ${metaEnd + dataLength}` };
  if (crc32c(bytes, SNAPSHOT_HEADER_BYTES, metaEnd) !== bytes.readUInt32LE(20)) return { valid: false, offset: SNAPSHOT_HEADER_BYTES, reason: "meta checksum mismatch" };
  if (crc32c(bytes, metaEnd, bytes.length) !== bytes.readUInt32LE(24)) return { valid: false, offset: metaEnd, reason: "data checksum mismatch" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(bytes.subarray(SNAPSHOT_HEADER_BYTES, metaEnd)));
  } catch (_error) {
    return { valid: false, offset: SNAPSHOT_HEADER_BYTES, reason: "meta is not JSON" };
  }
  const meta = parsed as { index?: unknown; term?: unknown; conf?: { voters?: unknown; learners?: unknown; votersOutgoing?: unknown } };
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !isNonNegativeSafeInteger(meta.index) ||
    !isNonNegativeSafeInteger(meta.term) ||
    typeof meta.conf !== "object" ||
    meta.conf === null ||
    !isStringArray(meta.conf.voters) ||
    !isStringArray(meta.conf.learners) ||
    (meta.conf.votersOutgoing !== undefined && !isStringArray(meta.conf.votersOutgoing))
  ) {
    return { valid: false, offset: SNAPSHOT_HEADER_BYTES, reason: "meta has the wrong shape" };
  }
  const conf: ConfState = {
    voters: meta.conf.voters,
    learners: meta.conf.learners,
    ...(meta.conf.votersOutgoing === undefined ? {} : { votersOutgoing: meta.conf.votersOutgoing }),
  };
  const data = new Uint8Array(dataLength);
  data.set(bytes.subarray(metaEnd));
  return { valid: true, meta: { index: meta.index, term: meta.term, conf }, data };
}
