import { isValidNodeId } from "./conf-change.js";
import { DecodeError } from "./errors.js";
import { MessageType, type ProposedEntry, type RaftMessage } from "./messages.js";
import { EntryType, type ConfState, type Entry, type NodeId } from "./types.js";

/**
 * The Raft wire codec: JSON in UTF-8, byte fields in base64 (the project's
 * wire format). Decoding is strict: exact field sets, integer ranges, limits
 * on sizes and counts. It never throws; bad input yields a DecodeError.
 */

export interface RaftCodecLimits {
  /** Largest encoded message accepted. */
  readonly maxMessageBytes: number;
  /** Most entries in one MsgApp / MsgProp. */
  readonly maxEntries: number;
  /** Most members in a ConfState. */
  readonly maxMembers: number;
}

export const DEFAULT_RAFT_CODEC_LIMITS: RaftCodecLimits = {
  maxMessageBytes: 4 * 1024 * 1024,
  maxEntries: 10_000,
  maxMembers: 64,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function entryJson(e: Entry): unknown {
  return { term: e.term, index: e.index, type: e.type, data: b64(e.data) };
}

function confJson(c: ConfState): unknown {
  return c.votersOutgoing === undefined ? { voters: c.voters, learners: c.learners } : { voters: c.voters, learners: c.learners, votersOutgoing: c.votersOutgoing };
}

export function encodeRaftMessage(m: RaftMessage): Uint8Array {
  return encoder.encode(JSON.stringify(raftMessageToJson(m)));
}

/** The message as the JSON value `encodeRaftMessage` serialises (for hosts that embed it in their own JSON frames). */
export function raftMessageToJson(m: RaftMessage): unknown {
  let body: Record<string, unknown>;
  switch (m.type) {
    case MessageType.App:
      body = { ...m, entries: m.entries.map(entryJson) };
      break;
    case MessageType.Prop:
      body = { ...m, entries: m.entries.map((e) => ({ type: e.type, data: b64(e.data) })) };
      break;
    case MessageType.Snap:
      body = { ...m, conf: confJson(m.conf), data: b64(m.data) };
      break;
    case MessageType.ReadIndex:
    case MessageType.ReadIndexResp:
      body = { ...m, context: b64(m.context) };
      break;
    default:
      body = { ...m };
  }
  return body;
}

class Invalid {
  constructor(readonly reason: string) {}
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fields(o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Invalid(`unknown field ${k}`);
}

function int(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new Invalid(`${k}: not a non-negative safe integer`);
  return v;
}

function bool(o: Record<string, unknown>, k: string): boolean {
  const v = o[k];
  if (typeof v !== "boolean") throw new Invalid(`${k}: not a boolean`);
  return v;
}

function nodeId(o: Record<string, unknown>, k: string): NodeId {
  const v = o[k];
  if (!isValidNodeId(v)) throw new Invalid(`${k}: not a node id`);
  return v;
}

function bytes(o: Record<string, unknown>, k: string): Uint8Array {
  const v = o[k];
  if (typeof v !== "string" || v.length % 4 !== 0 || !BASE64.test(v)) throw new Invalid(`${k}: not base64`);
  return new Uint8Array(Buffer.from(v, "base64"));
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Invalid(`${what}: not an object`);
  return v as Record<string, unknown>;
}

function entryType(o: Record<string, unknown>): EntryType {
  const v = o.type;
  if (v !== EntryType.Normal && v !== EntryType.ConfChange && v !== EntryType.Noop) throw new Invalid("entry type");
  return v;
}

function nodeList(v: unknown, what: string, limits: RaftCodecLimits): NodeId[] {
  if (!Array.isArray(v) || v.length > limits.maxMembers) throw new Invalid(`${what}: not a bounded array`);
  const out: NodeId[] = [];
  for (const id of v) {
    if (!isValidNodeId(id) || out.includes(id)) throw new Invalid(`${what}: bad or duplicate node id`);
    out.push(id);
  }
  return out;
}

function conf(v: unknown, limits: RaftCodecLimits): ConfState {
  const o = object(v, "conf");
  fields(o, ["voters", "learners", "votersOutgoing"]);
  const voters = nodeList(o.voters, "voters", limits);
  const learners = nodeList(o.learners, "learners", limits);
  if (o.votersOutgoing === undefined) return { voters, learners };
  return { voters, learners, votersOutgoing: nodeList(o.votersOutgoing, "votersOutgoing", limits) };
}

function entryList(v: unknown, limits: RaftCodecLimits): unknown[] {
  if (!Array.isArray(v) || v.length > limits.maxEntries) throw new Invalid("entries: not a bounded array");
  return v;
}

const HEADER = ["type", "from", "to", "term"] as const;

function parse(o: Record<string, unknown>, limits: RaftCodecLimits): RaftMessage {
  const type = o.type;
  const from = nodeId(o, "from");
  const to = nodeId(o, "to");
  const term = int(o, "term");
  const h = { from, to, term };
  switch (type) {
    case MessageType.Vote:
    case MessageType.PreVote:
      fields(o, [...HEADER, "lastLogIndex", "lastLogTerm", "transfer"]);
      return { type, ...h, lastLogIndex: int(o, "lastLogIndex"), lastLogTerm: int(o, "lastLogTerm"), transfer: bool(o, "transfer") };
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      fields(o, [...HEADER, "reject"]);
      return { type, ...h, reject: bool(o, "reject") };
    case MessageType.App: {
      fields(o, [...HEADER, "prevIndex", "prevTerm", "entries", "commit"]);
      const prevIndex = int(o, "prevIndex");
      const entries: Entry[] = entryList(o.entries, limits).map((raw, i) => {
        const e = object(raw, "entry");
        fields(e, ["term", "index", "type", "data"]);
        const index = int(e, "index");
        if (index !== prevIndex + 1 + i) throw new Invalid("entries not contiguous");
        return { term: int(e, "term"), index, type: entryType(e), data: bytes(e, "data") };
      });
      return { type, ...h, prevIndex, prevTerm: int(o, "prevTerm"), entries, commit: int(o, "commit") };
    }
    case MessageType.AppResp:
      fields(o, [...HEADER, "index", "reject", "conflictTerm", "conflictIndex"]);
      return { type, ...h, index: int(o, "index"), reject: bool(o, "reject"), conflictTerm: int(o, "conflictTerm"), conflictIndex: int(o, "conflictIndex") };
    case MessageType.Heartbeat:
      fields(o, [...HEADER, "commit", "readSeq"]);
      return { type, ...h, commit: int(o, "commit"), readSeq: int(o, "readSeq") };
    case MessageType.HeartbeatResp:
      fields(o, [...HEADER, "readSeq"]);
      return { type, ...h, readSeq: int(o, "readSeq") };
    case MessageType.Snap: {
      fields(o, [...HEADER, "snapshotIndex", "snapshotTerm", "conf", "offset", "totalBytes", "data"]);
      const data = bytes(o, "data");
      const offset = int(o, "offset");
      const totalBytes = int(o, "totalBytes");
      if (offset + data.byteLength > totalBytes) throw new Invalid("snapshot chunk beyond totalBytes");
      return { type, ...h, snapshotIndex: int(o, "snapshotIndex"), snapshotTerm: int(o, "snapshotTerm"), conf: conf(o.conf, limits), offset, totalBytes, data };
    }
    case MessageType.SnapResp:
      fields(o, [...HEADER, "snapshotIndex", "snapshotTerm", "nextOffset", "reject"]);
      return { type, ...h, snapshotIndex: int(o, "snapshotIndex"), snapshotTerm: int(o, "snapshotTerm"), nextOffset: int(o, "nextOffset"), reject: bool(o, "reject") };
    case MessageType.ReadIndex:
      fields(o, [...HEADER, "context"]);
      return { type, ...h, context: bytes(o, "context") };
    case MessageType.ReadIndexResp:
      fields(o, [...HEADER, "context", "index"]);
      return { type, ...h, context: bytes(o, "context"), index: int(o, "index") };
    case MessageType.TimeoutNow:
      fields(o, HEADER);
      return { type, ...h };
    case MessageType.TransferLeader:
      fields(o, [...HEADER, "transferee"]);
      return { type, ...h, transferee: nodeId(o, "transferee") };
    case MessageType.Prop: {
      fields(o, [...HEADER, "entries"]);
      const entries: ProposedEntry[] = entryList(o.entries, limits).map((raw) => {
        const e = object(raw, "entry");
        fields(e, ["type", "data"]);
        return { type: entryType(e), data: bytes(e, "data") };
      });
      return { type, ...h, entries };
    }
    default:
      throw new Invalid("unknown message type");
  }
}

export function decodeRaftMessage(input: Uint8Array, limits: RaftCodecLimits = DEFAULT_RAFT_CODEC_LIMITS): RaftMessage | DecodeError {
  if (input.byteLength > limits.maxMessageBytes) return new DecodeError(`message of ${input.byteLength} bytes exceeds ${limits.maxMessageBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(input));
  } catch (_e) {
    return new DecodeError("not UTF-8 JSON");
  }
  return decodeRaftMessageJson(value, limits);
}

/**
 * Decode an already-parsed JSON value with the same strict checks as
 * `decodeRaftMessage` (its byte size is the embedding frame's to bound).
 */
export function decodeRaftMessageJson(value: unknown, limits: RaftCodecLimits = DEFAULT_RAFT_CODEC_LIMITS): RaftMessage | DecodeError {
  try {
    return parse(object(value, "message"), limits);
  } catch (e) {
    if (e instanceof Invalid) return new DecodeError(e.reason);
    return new DecodeError("unexpected decoder failure");
  }
}
