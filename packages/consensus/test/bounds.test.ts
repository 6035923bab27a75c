import { describe, expect, it } from "vitest";
import { EntryType, MAX_RAFT_INDEX, MAX_RAFT_TERM, MessageType, RaftMessageOutOfBounds, checkRaftMessageBounds, decodeRaftMessageJson, type RaftMessage } from "@corral/consensus";

const header = { from: "n1", to: "n2", term: 5 };

describe("raft message bounds", () => {
  it("passes ordinary messages and the bound itself", () => {
    const messages: RaftMessage[] = [
      { type: MessageType.Heartbeat, ...header, commit: 10, readSeq: 0 },
      { type: MessageType.Vote, ...header, term: MAX_RAFT_TERM, lastLogIndex: MAX_RAFT_INDEX, lastLogTerm: 4, transfer: false },
      { type: MessageType.App, ...header, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ term: 5, index: 2, type: EntryType.Normal, data: new Uint8Array() }] },
    ];
    for (const message of messages) expect(checkRaftMessageBounds(message)).toBeUndefined();
  });

  it("names the first number beyond its bound: a term of 2^53-1 decodes, but is stopped here", () => {
    const decoded = decodeRaftMessageJson({ type: MessageType.Heartbeat, from: "n1", to: "n2", term: Number.MAX_SAFE_INTEGER, commit: 0, readSeq: 0 });
    expect(decoded).toMatchObject({ term: Number.MAX_SAFE_INTEGER });
    const problem = checkRaftMessageBounds(decoded as RaftMessage);
    expect(problem).toBeInstanceOf(RaftMessageOutOfBounds);
    expect(problem).toMatchObject({ field: "term", value: Number.MAX_SAFE_INTEGER, code: "RAFT_MESSAGE_OUT_OF_BOUNDS" });
    expect(checkRaftMessageBounds({ type: MessageType.Vote, ...header, lastLogIndex: 2 ** 49, lastLogTerm: 1, transfer: false })).toMatchObject({ field: "lastLogIndex" });
    expect(checkRaftMessageBounds({ type: MessageType.AppResp, ...header, index: 3, reject: true, conflictTerm: 2 ** 50, conflictIndex: 1 })).toMatchObject({ field: "conflictTerm" });
    expect(
      checkRaftMessageBounds({ type: MessageType.App, ...header, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ term: 5, index: 2, type: EntryType.Normal, data: new Uint8Array() }, { term: 2 ** 52, index: 3, type: EntryType.Normal, data: new Uint8Array() }] }),
    ).toMatchObject({ field: "entries.term" });
    expect(checkRaftMessageBounds({ type: MessageType.Heartbeat, ...header, commit: 2 ** 48 + 1, readSeq: 0 })).toMatchObject({ field: "commit" });
  });
});
