/**
 * The session tracker. Every node reports the sessions its clients touched;
 * only the leader keeps deadlines and expires sessions by proposing
 * closeSession (a replicated transaction, so every replica deletes the same
 * ephemerals at the same zxid). A session the tracker has no deadline for —
 * every session, right after this node becomes leader — gets a fresh full
 * timeout, so a leader change never expires a live client.
 *
 * The leader also proposes the reaping of emptied containers and expired TTL
 * nodes; the tree re-checks the condition when the entry applies.
 *
 * Losses (issue 15): the `check` timer cannot be lost (a timer firing takes
 * the mailbox reserve). A proposal the raft mailbox refuses is not marked as
 * proposed, so the next check proposes it again; one that is lost later (a
 * leader change) is re-proposed after the retry period.
 */
import type { Behaviour } from "@corral/actors";
import { DecodeFailure, SendOutcome, type Codec } from "@corral/actors";
import type { NodeConfig } from "./config.js";
import { ActorName, type NodeView } from "./node-view.js";
import type { RaftActorMessage } from "./raft-actor.js";

export type TrackerMessage = { readonly type: "touch"; readonly sessionIds: readonly number[] } | { readonly type: "check" };

const MAX_TOUCHES_PER_MESSAGE = 1_000_000;
const MAX_REAPS_PER_SCAN = 1_000;

export const trackerCodec: Codec<TrackerMessage> = {
  encode(message) {
    if (message.type !== "touch") throw new TypeError("tracker check is local only");
    return { type: "touch", sessionIds: [...message.sessionIds] };
  },
  decode(input) {
    if (typeof input !== "object" || input === null) return new DecodeFailure("expected an object");
    const record = input as Record<string, unknown>;
    const ids = record["sessionIds"];
    if (record["type"] !== "touch" || !Array.isArray(ids) || ids.length > MAX_TOUCHES_PER_MESSAGE) return new DecodeFailure("touch");
    for (const id of ids) if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) return new DecodeFailure("touch: session id");
    return { type: "touch", sessionIds: ids as number[] };
  },
};

export function trackerActor(options: { readonly config: NodeConfig; readonly view: NodeView; readonly wallNow: () => number }): Behaviour<TrackerMessage> {
  const { config, view } = options;
  /** Reaps proposed and when; re-proposed after a retry period if the node is still there. */
  const reaping = new Map<string, number>();
  let lastReapScan = Number.NEGATIVE_INFINITY;
  const deadlines = new Map<number, number>();
  /** Sessions we proposed to close, and when (re-proposed if still alive after a retry period). */
  const closing = new Map<number, number>();
  let leaderTerm = -1;
  // Expiry precision of ~1/20 of the shortest timeout; the scan is O(sessions), so not every tick.
  const checkMs = Math.max(config.tickMs * 5, Math.floor(config.minSessionTimeoutMs / 20));

  return {
    started(context) {
      context.setTimer("check", checkMs, { type: "check" });
    },
    receive(context, message) {
      const status = view.raft;
      const leading = status.role === "leader";
      if (!leading || status.term !== leaderTerm) {
        deadlines.clear();
        closing.clear();
        reaping.clear();
        leaderTerm = leading ? status.term : -1;
      }
      const now = context.now();
      if (message.type === "touch") {
        if (!leading) return;
        for (const sessionId of message.sessionIds) {
          const session = view.stateMachine.session(sessionId);
          if (session !== undefined) deadlines.set(sessionId, now + session.timeoutMs);
        }
        return;
      }
      context.setTimer("check", checkMs, { type: "check" });
      if (!leading) return;
      const expired: number[] = [];
      const live = new Set<number>();
      for (const session of view.stateMachine.sessions()) {
        live.add(session.sessionId);
        const deadline = deadlines.get(session.sessionId);
        if (deadline === undefined) deadlines.set(session.sessionId, now + session.timeoutMs);
        else if (deadline <= now) {
          const proposedAt = closing.get(session.sessionId);
          if (proposedAt === undefined || now - proposedAt >= config.forwardRetryMs) {
            closing.set(session.sessionId, now);
            expired.push(session.sessionId);
          }
        }
      }
      for (const sessionId of deadlines.keys()) if (!live.has(sessionId)) deadlines.delete(sessionId);
      for (const sessionId of closing.keys()) if (!live.has(sessionId)) closing.delete(sessionId);
      if (now - lastReapScan >= config.reapIntervalMs) {
        lastReapScan = now;
        const candidates = view.stateMachine.findReapable(options.wallNow());
        const still = new Set(candidates.map((c) => c.path));
        for (const path of reaping.keys()) if (!still.has(path)) reaping.delete(path);
        const reaps = candidates.filter((c) => {
          const proposedAt = reaping.get(c.path);
          return proposedAt === undefined || now - proposedAt >= config.reapIntervalMs * 4;
        }).slice(0, MAX_REAPS_PER_SCAN);
        if (reaps.length > 0) {
          const outcome = context.offer<RaftActorMessage<never>>(
            { node: config.nodeId, actor: ActorName.raft },
            { type: "propose", commands: reaps.map((c) => ({ kind: "txn" as const, txn: { type: "reap" as const, path: c.path, kind: c.kind } })) },
          );
          if (outcome === SendOutcome.sent) for (const candidate of reaps) reaping.set(candidate.path, now);
          else lastReapScan = Number.NEGATIVE_INFINITY; // refused (raft mailbox full): scan again at the next check
        }
      }
      if (expired.length === 0) return;
      const outcome = context.offer<RaftActorMessage<never>>(
        { node: config.nodeId, actor: ActorName.raft },
        { type: "propose", commands: expired.map((sessionId) => ({ kind: "txn" as const, txn: { type: "closeSession" as const, sessionId, reason: "expired" as const } })) },
      );
      if (outcome === SendOutcome.sent) view.counters.sessionsExpired += expired.length;
      else for (const sessionId of expired) closing.delete(sessionId); // refused: proposed again at the next check
    },
  };
}
