import type { ConfState, NodeId } from "./types.js";

/**
 * Majority arithmetic (etcd quorum/majority.go, quorum/joint.go). A joint
 * configuration needs a majority of both halves.
 */

/** The highest index a majority of `voters` have matched. An empty voter set commits nothing. */
export function majorityCommitted(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER;
  const matches = new Array<number>(n);
  for (let i = 0; i < n; i++) matches[i] = matchOf(voters[i] as NodeId);
  matches.sort((a, b) => b - a);
  return matches[Math.floor(n / 2)] as number;
}

export function jointCommitted(conf: ConfState, matchOf: (id: NodeId) => number): number {
  const incoming = majorityCommitted(conf.voters, matchOf);
  if (conf.votersOutgoing === undefined || conf.votersOutgoing.length === 0) return incoming;
  return Math.min(incoming, majorityCommitted(conf.votersOutgoing, matchOf));
}

export const VoteResult = { Pending: 0, Lost: 1, Won: 2 } as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

export function majorityVoteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

export function jointVoteResult(conf: ConfState, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVoteResult(conf.voters, votes);
  if (conf.votersOutgoing === undefined || conf.votersOutgoing.length === 0) return a;
  const b = majorityVoteResult(conf.votersOutgoing, votes);
  if (a === b) return a;
  if (a === VoteResult.Lost || b === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}

/** Every voter of either half, deduplicated, in a stable order. */
export function allVoters(conf: ConfState): NodeId[] {
  const out = [...conf.voters];
  for (const id of conf.votersOutgoing ?? []) if (!out.includes(id)) out.push(id);
  return out;
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || (conf.votersOutgoing?.includes(id) ?? false);
}
