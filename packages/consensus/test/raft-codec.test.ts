import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError, EntryType, MessageType, decodeRaftMessage, decodeRaftMessageJson, encodeRaftMessage, raftMessageToJson, type RaftMessage } from "../src/index.js";

const id = fc.string({ minLength: 1, maxLength: 8 });
const n = fc.nat({ max: 1_000_000 });
const bytes = fc.uint8Array({ maxLength: 64 });
const header = { from: id, to: id, term: n };
const etype = fc.constantFrom(EntryType.Normal, EntryType.ConfChange, EntryType.Noop);
const conf = fc.record({ voters: fc.uniqueArray(id, { maxLength: 5 }), learners: fc.uniqueArray(id, { maxLength: 3 }) });

const message: fc.Arbitrary<RaftMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom(MessageType.Vote, MessageType.PreVote), ...header, lastLogIndex: n, lastLogTerm: n, transfer: fc.boolean() }),
  fc.record({ type: fc.constantFrom(MessageType.VoteResp, MessageType.PreVoteResp), ...header, reject: fc.boolean() }),
  fc.record({ ...header, prevIndex: n, prevTerm: n, commit: n, ents: fc.array(fc.record({ term: n, type: etype, data: bytes }), { maxLength: 5 }) }).map(
    ({ ents, ...r }): RaftMessage => ({ type: MessageType.App, ...r, entries: ents.map((e, i) => ({ ...e, index: r.prevIndex + 1 + i })) }),
  ),
  fc.record({ type: fc.constant(MessageType.AppResp), ...header, index: n, reject: fc.boolean(), conflictTerm: n, conflictIndex: n }),
  fc.record({ type: fc.constant(MessageType.Heartbeat), ...header, commit: n, readSeq: n }),
  fc.record({ type: fc.constant(MessageType.HeartbeatResp), ...header, readSeq: n }),
  fc.record({ ...header, snapshotIndex: n, snapshotTerm: n, conf, offset: n, extra: n, data: bytes }).map(
    ({ extra, ...r }): RaftMessage => ({ type: MessageType.Snap, ...r, totalBytes: r.offset + r.data.byteLength + extra }),
  ),
  fc.record({ type: fc.constant(MessageType.SnapResp), ...header, snapshotIndex: n, snapshotTerm: n, nextOffset: n, reject: fc.boolean() }),
  fc.record({ type: fc.constant(MessageType.ReadIndex), ...header, context: bytes }),
  fc.record({ type: fc.constant(MessageType.ReadIndexResp), ...header, context: bytes, index: n }),
  fc.record({ type: fc.constant(MessageType.TimeoutNow), ...header }),
  fc.record({ type: fc.constant(MessageType.TransferLeader), ...header, transferee: id }),
  fc.record({ type: fc.constant(MessageType.Prop), ...header, entries: fc.array(fc.record({ type: etype, data: bytes }), { maxLength: 4 }) }),
);

describe("raft message codec", () => {
  it("the JSON-value form is the byte form's JSON, and round-trips through a host frame's JSON", () => {
    fc.assert(
      fc.property(message, (m) => {
        const value = raftMessageToJson(m);
        expect(JSON.stringify(value)).toBe(new TextDecoder().decode(encodeRaftMessage(m)));
        expect(decodeRaftMessageJson(JSON.parse(JSON.stringify({ frame: value })).frame)).toEqual(m);
      }),
      { numRuns: 300 },
    );
    expect(decodeRaftMessageJson({ type: "nonsense" })).toBeInstanceOf(DecodeError);
    expect(decodeRaftMessageJson("not an object")).toBeInstanceOf(DecodeError);
  });

  it("round-trips every message kind", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeRaftMessage(encodeRaftMessage(m))).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(decodeRaftMessage(b)).toBeInstanceOf(DecodeError);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on mutated valid messages, and what it accepts re-encodes identically", () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 255 }), (m, pos, byte) => {
        const enc = encodeRaftMessage(m);
        const mutated = enc.slice();
        mutated[pos % mutated.length] = byte;
        const d = decodeRaftMessage(mutated);
        if (!(d instanceof DecodeError)) expect(decodeRaftMessage(encodeRaftMessage(d))).toEqual(d);
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects unknown fields, wrong types, bad base64, non-contiguous entries and oversized input", () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    const hb = { type: "MsgHeartbeat", from: "a", to: "b", term: 1, commit: 0, readSeq: 0 };
    expect(decodeRaftMessage(enc(hb))).toEqual(hb);
    expect(decodeRaftMessage(enc({ ...hb, extra: 1 }))).toBeInstanceOf(DecodeError);
    expect(decodeRaftMessage(enc({ ...hb, term: -1 }))).toBeInstanceOf(DecodeError);
    expect(decodeRaftMessage(enc({ ...hb, term: 1.5 }))).toBeInstanceOf(DecodeError);
    expect(decodeRaftMessage(enc({ ...hb, from: "" }))).toBeInstanceOf(DecodeError);
    expect(decodeRaftMessage(enc({ type: "MsgReadIndex", from: "a", to: "b", term: 0, context: "!!!!" }))).toBeInstanceOf(DecodeError);
    const app = { type: "MsgApp", from: "a", to: "b", term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ term: 1, index: 2, type: 0, data: "" }] };
    expect(decodeRaftMessage(enc(app))).toBeInstanceOf(DecodeError);
    expect(decodeRaftMessage(enc(hb), { maxMessageBytes: 10, maxEntries: 1, maxMembers: 1 })).toBeInstanceOf(DecodeError);
    const many = { ...app, entries: [{ term: 1, index: 1, type: 0, data: "" }, { term: 1, index: 2, type: 0, data: "" }] };
    expect(decodeRaftMessage(enc(many), { maxMessageBytes: 1 << 20, maxEntries: 1, maxMembers: 1 })).toBeInstanceOf(DecodeError);
  });
});
