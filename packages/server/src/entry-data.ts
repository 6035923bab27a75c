/**
 * What travels in a Normal Raft entry: the transaction plus what the leader
 * fixed when it proposed it (its wall time) and who asked for it (so the node
 * that forwarded a createSession can tell which session is its own).
 */
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
  constructor(readonly reason: string) {}
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
  if (isDecodeError(txn)) return new CorruptEntry(`bad txn: ${txn.message}`);
  const origin = record["o"];
  if (origin === undefined) return { timeMs, txn };
  if (!Array.isArray(origin) || origin.length !== 2 || typeof origin[0] !== "string" || !Number.isSafeInteger(origin[1])) {
    return new CorruptEntry("bad origin");
  }
  return { timeMs, txn, origin: [origin[0], origin[1] as number] };
}
