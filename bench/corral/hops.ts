/**
 * The latency floor of a Corral write on this machine: the network hops a
 * write crosses on its critical path (each one Redis XADD → XREAD) plus the one
 * fsync that cannot overlap with them. Pure: the measuring lives in floor.ts.
 *
 * The current server design (packages/server raft-actor.ts, sessions-actor.ts):
 * the leader sends AppendEntries before its own fsync (etcd-raft style), so its
 * fsync overlaps the round trip to a follower; a follower acks only after its
 * fsync. The leader broadcasts the new commit index as soon as a majority has
 * acked (raw-node bcastAppend after maybeCommit), and the client's node answers
 * once it has applied the entry.
 */

/** Where the client's session lives relative to the leader. */
export type ClientPlacement = "on-leader" | "on-follower";

export interface Hop {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** The hops on a write's critical path, in order. */
export function writeHops(placement: ClientPlacement): readonly Hop[] {
  const request: Hop = { from: "client", to: "node", why: "request over the client's reliable channel" };
  const forward: Hop = { from: "node", to: "leader", why: "the node's raft actor forwards the command to the leader" };
  const append: Hop = { from: "leader", to: "followers", why: "AppendEntries (sent before the leader's own fsync)" };
  const ack: Hop = { from: "follower", to: "leader", why: "append response, after the follower's fsync" };
  const commit: Hop = { from: "leader", to: "node", why: "the new commit index (an immediate append broadcast)" };
  const response: Hop = { from: "node", to: "client", why: "response once the client's node has applied the entry" };
  return placement === "on-leader" ? [request, append, ack, response] : [request, forward, append, ack, commit, response];
}

export interface WriteFloor {
  readonly placement: ClientPlacement;
  readonly hops: number;
  readonly hopP50Ms: number;
  readonly fsyncP50Ms: number;
  /** hops × hop p50 + one fsync p50. */
  readonly floorMs: number;
}

export function writeFloor(placement: ClientPlacement, hopP50Ms: number, fsyncP50Ms: number): WriteFloor {
  if (!(hopP50Ms >= 0) || !(fsyncP50Ms >= 0)) throw new RangeError(`latencies must be non-negative numbers, got hop ${hopP50Ms} fsync ${fsyncP50Ms}`);
  const hops = writeHops(placement).length;
  const floorMs = Math.round((hops * hopP50Ms + fsyncP50Ms) * 1000) / 1000;
  return { placement, hops, hopP50Ms, fsyncP50Ms, floorMs };
}

/** Single-client write p50 over the floor: the goal is ≤ 1.3. */
export function floorRatio(writeP50Ms: number, floor: WriteFloor): number {
  return floor.floorMs > 0 ? writeP50Ms / floor.floorMs : Number.POSITIVE_INFINITY;
}
