import { DecodeError } from "./errors.js";
import type { ConfState, NodeId } from "./types.js";

/**
 * Single-server membership changes (Raft dissertation §4.1), applied when the
 * entry is applied. Safe because the leader allows at most one unapplied
 * change in its log, and a new leader may not propose one until its no-op
 * entry is applied (the fix to the single-server bug, as etcd does).
 */
export const ConfChangeType = {
  AddVoter: "addVoter",
  AddLearner: "addLearner",
  PromoteLearner: "promoteLearner",
  /** Removes a voter or a learner. */
  RemoveNode: "removeNode",
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export const MAX_NODE_ID_LENGTH = 128;

export function isValidNodeId(id: unknown): id is NodeId {
  return typeof id === "string" && id.length > 0 && id.length <= MAX_NODE_ID_LENGTH;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

export function decodeConfChange(bytes: Uint8Array): ConfChange | DecodeError {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (_e) {
    return new DecodeError("conf change: not JSON");
  }
  if (typeof value !== "object" || value === null) return new DecodeError("conf change: not an object");
  const o = value as Record<string, unknown>;
  const types: readonly string[] = Object.values(ConfChangeType);
  if (typeof o.type !== "string" || !types.includes(o.type)) return new DecodeError("conf change: bad type");
  if (!isValidNodeId(o.nodeId)) return new DecodeError("conf change: bad nodeId");
  return { type: o.type as ConfChangeType, nodeId: o.nodeId };
}

/** Why a change cannot apply to `conf`, or null if it can. Deterministic: the same on every node. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
  const voter = conf.voters.includes(cc.nodeId);
  const learner = conf.learners.includes(cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      return voter ? "already a voter" : learner ? "is a learner: promote it" : null;
    case ConfChangeType.AddLearner:
      return voter || learner ? "already a member" : null;
    case ConfChangeType.PromoteLearner:
      return learner ? null : "not a learner";
    case ConfChangeType.RemoveNode:
      if (!voter && !learner) return "not a member";
      if (voter && conf.voters.length === 1) return "would remove the last voter";
      return null;
  }
}

/** The configuration after `cc`; unchanged if the change does not apply. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (confChangeProblem(conf, cc) !== null) return conf;
  const voters = conf.voters.filter((v) => v !== cc.nodeId);
  const learners = conf.learners.filter((v) => v !== cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
    case ConfChangeType.PromoteLearner:
      voters.push(cc.nodeId);
      break;
    case ConfChangeType.AddLearner:
      learners.push(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      break;
  }
  return conf.votersOutgoing === undefined ? { voters, learners } : { voters, learners, votersOutgoing: conf.votersOutgoing };
}
