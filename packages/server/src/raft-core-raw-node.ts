/** The consensus package's RawNode behind the node's RaftCore port. */
import type { Codec } from "@corral/actors";
import { DecodeFailure } from "@corral/actors";
import { CompactError, DecodeError, RawNode, checkRaftMessageBounds, decodeRaftMessageJson, raftMessageToJson, type RaftMessage, type Ready } from "@corral/consensus";
import type { RaftCore, RaftCoreFactory, RaftCoreOptions, RaftReady } from "./ports.js";

/**
 * Raft messages embedded as JSON values in actor frames (the consensus codec's
 * JSON, not re-wrapped in base64). The value goes straight into the frame and
 * comes straight out of it: no extra stringify/parse round trip per message;
 * the frame layer bounds the size.
 */
export const raftMessageCodec: Codec<RaftMessage> = {
  encode(message) {
    return raftMessageToJson(message);
  },
  decode(input) {
    const message = decodeRaftMessageJson(input);
    if (message instanceof DecodeError) return new DecodeFailure(`raft message: ${message.reason}`);
    return message;
  },
};

export interface RawNodeLimits {
  readonly maxInflightAppends: number;
  readonly maxInflightBytes: number;
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
  readonly maxUncommittedBytes: number;
  readonly snapshotChunkBytes: number;
}

export const defaultRawNodeLimits: RawNodeLimits = {
  maxInflightAppends: 256,
  maxInflightBytes: 16 * 1024 * 1024,
  maxEntriesPerAppend: 1024,
  maxBytesPerAppend: 1024 * 1024,
  maxUncommittedBytes: 64 * 1024 * 1024,
  snapshotChunkBytes: 512 * 1024,
};

class RawNodeCore implements RaftCore<RaftMessage> {
  private readonly node: RawNode;
  private last: Ready | undefined;

  constructor(options: RaftCoreOptions, limits: RawNodeLimits) {
    this.node = new RawNode(
      {
        id: options.id,
        electionTicksMin: options.electionTicks,
        electionTicksMax: 2 * options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        preVote: true,
        checkQuorum: true,
        ...limits,
      },
      options.recovered,
      { voters: [...options.peers], learners: [] },
      options.random,
    );
  }

  tick(): void {
    this.node.tick();
  }
  step(message: RaftMessage): void {
    this.node.step(message);
  }
  propose(commands: readonly Uint8Array[]): boolean {
    for (const command of commands) {
      // Stop at the first refusal: the entries that made it stay a contiguous prefix, in session order.
      if (!this.node.propose(command).ok) return false;
    }
    return true;
  }
  readIndex(context: Uint8Array): void {
    this.node.readIndex(context);
  }
  transferLeadership(to: string): void {
    this.node.transferLeadership(to);
  }
  hasReady(): boolean {
    return this.node.hasReady();
  }
  ready(): RaftReady<RaftMessage> {
    const ready = this.node.ready();
    this.last = ready;
    const out: { -readonly [K in keyof RaftReady<RaftMessage>]: RaftReady<RaftMessage>[K] } = {
      entries: ready.entries,
      committedEntries: ready.committedEntries,
      messages: ready.messages,
      messagesAfterPersist: ready.messagesAfterPersist,
      readStates: ready.readStates.map((state) => ({ index: state.index, context: state.requestContext })),
    };
    if (ready.hardState !== undefined) out.hardState = ready.hardState;
    if (ready.snapshot !== undefined) out.snapshot = ready.snapshot;
    return out;
  }
  advance(): void {
    if (this.last === undefined) return;
    const ready = this.last;
    this.last = undefined;
    this.node.advance(ready);
  }
  compact(index: number, data: Uint8Array) {
    const snapshot = this.node.compact(index, data);
    return snapshot instanceof CompactError ? undefined : snapshot;
  }
  basicStatus() {
    const status = this.node.basicStatus();
    return { id: this.node.id, role: status.role, term: status.term, leader: status.leaderId, commitIndex: status.commit, lastIndex: status.lastIndex };
  }
  status() {
    const status = this.node.status();
    const matchIndex: Record<string, number> = {};
    for (const [peer, progress] of Object.entries(status.progress ?? {})) matchIndex[peer] = progress.match;
    return {
      id: status.id,
      role: status.role,
      term: status.term,
      leader: status.leaderId,
      commitIndex: status.commit,
      lastIndex: status.lastIndex,
      matchIndex,
    };
  }
}

export function rawNodeFactory(limits: Partial<RawNodeLimits> = {}): RaftCoreFactory<RaftMessage> {
  const resolved = { ...defaultRawNodeLimits, ...limits };
  return { create: (options) => new RawNodeCore(options, resolved), codec: raftMessageCodec, checkBounds: checkRaftMessageBounds };
}
