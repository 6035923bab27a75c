/**
 * What travels in a Normal Raft entry: the transaction plus what the leader
 * fixed when it proposed it (its wall time) and who asked for it (so the node
 * that forwarded a createSession can tell which session is its own).
 */
import { createHash } from "node:crypto";
import { decodeTxn, encodeTxn, isDecodeError, type Txn } from "@corral/protocol";

export interface EntryData {
  readonly timeMs: number;
  readonly txn: Txn;
  /** [node id, request ref] of the request that caused it, when someone waits for it. */
  readonly origin?: readonly [string, number];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeEntryData(data: EntryData): Uint8Array {
  const json: Record<string, unknown> = { t: data.timeMs, x: encodeTxn(data.txn) };
  if (data.origin !== undefined) json["o"] = [data.origin[0], data.origin[1]];
  return encoder.encode(JSON.stringify(json));
}

export class CorruptEntry {
  readonly _tag = "CorruptEntry";
  readonly code = "CORRUPT_ENTRY";
  constructor(
    readonly reason: string,
    /** The txn failed a size limit of the codec (see EntryRefused). */
    readonly overLimit = false,
  ) {}
}

/** Why an entry may not be proposed: it would not decode on a replica, or it is larger than an entry may be. */
export class EntryRefused {
  readonly _tag = "EntryRefused";
  readonly code = "ENTRY_REFUSED";
  constructor(
    readonly reason: string,
    /** A size limit (too long, too many, too large) rather than a malformed value. */
    readonly overLimit: boolean,
  ) {}
}

/**
 * Encodes an entry and proves, before anyone proposes it, that every replica
 * will decode it: the bytes go through `decodeEntryData`, the very decoder
 * the appliers run on committed entries, with the same limits. An entry that
 * fails here must never be proposed: once committed, no replica could apply
 * it and every replica would stop on it (and again on replay). Also bounds
 * the whole entry by `maxEntryBytes` (the Raft core refuses larger ones).
 */
export function encodeCheckedEntryData(data: EntryData, maxEntryBytes: number): Uint8Array | EntryRefused {
  const bytes = encodeEntryData(data);
  if (bytes.byteLength > maxEntryBytes) return new EntryRefused(`entry of ${bytes.byteLength} bytes is larger than ${maxEntryBytes}`, true);
  const decoded = decodeEntryData(bytes);
  if (decoded instanceof CorruptEntry) return new EntryRefused(decoded.reason, decoded.overLimit);
  return bytes;
}

/** Bytes of a corrupt entry that go into its bug report (the head, base64): enough to recognise it, bounded for the log. */
export const CORRUPT_ENTRY_REPORT_BYTES = 512;

/**
 * What a replica logs when a committed entry does not decode: a broken
 * invariant (propose-time checking makes it impossible by construction), so
 * the report carries what a bug hunt needs, with the payload bounded.
 */
export function corruptEntryReport(entry: { readonly index: number; readonly term: number; readonly data: Uint8Array }, reason: string): Record<string, unknown> {
  const head = entry.data.subarray(0, CORRUPT_ENTRY_REPORT_BYTES);
  return {
    index: entry.index,
    term: entry.term,
    reason,
    bytes: entry.data.byteLength,
    sha256: createHash("sha256").update(entry.data).digest("hex"),
    headBase64: Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("base64"),
    truncated: entry.data.byteLength > CORRUPT_ENTRY_REPORT_BYTES,
  };
}

/** Entries were written by a leader of this ensemble, so a failure here is corruption, not input. */
export function decodeEntryData(bytes: Uint8Array): EntryData | CorruptEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (_error) {
    return new CorruptEntry("not UTF-8 JSON");
  }
  if (typeof parsed !== "object" || parsed === null) return new CorruptEntry("not an object");
  const record = parsed as Record<string, unknown>;
  const timeMs = record["t"];
  if (typeof timeMs !== "number" || !Number.isFinite(timeMs)) return new CorruptEntry("bad time");
  const txn = decodeTxn(record["x"]);
  if (isDecodeError(txn)) return new CorruptEntry(`bad txn: ${txn.message}`, txn.overLimit);
  const origin = record["o"];
  if (origin === undefined) return { timeMs, txn };
  if (!Array.isArray(origin) || origin.length !== 2 || typeof origin[0] !== "string" || !Number.isSafeInteger(origin[1])) {
    return new CorruptEntry("bad origin");
  }
  return { timeMs, txn, origin: [origin[0], origin[1] as number] };
}
