/**
 * The tree package's DataTree and WatchRegistry behind the node's
 * StateMachine port. Adds the one rule the node needs for FIFO order that the
 * tree deliberately leaves open: a request whose seq is beyond the session's
 * next one (a forward overtook an earlier forward that was lost or delayed) is
 * not applied here; its node re-sends the run of unapplied writes in order.
 * The rule reads only replicated state, so every replica skips alike.
 */
import { DataTree, SnapshotError, WatchRegistry, type TreeConfig, type WatchLimits } from "@corral/tree";
import { ErrorCode, errorResult, type AddWatchMode, type ErrorCodeValue, type ReadOp, type ReadResult, type Txn, type WatcherType, type WatchSet } from "@corral/protocol";
import { NodeInvariantViolation } from "./errors.js";
import type { AppliedTxn, Caller, HistoryEntry, RestoredSnapshot, ResumedWatches, SessionEvent, StateMachine, StateMachineFactory } from "./ports.js";

/** The result a skipped out-of-order write gets (never sent to a client: its node keeps waiting and re-sends). */
export const OUT_OF_ORDER_RESULT = errorResult(ErrorCode.RuntimeInconsistency);

class TreeStateMachine implements StateMachine {
  private tree: DataTree;
  private readonly watches: WatchRegistry;

  constructor(private readonly treeConfig: TreeConfig, watchLimits: Partial<WatchLimits>) {
    this.tree = new DataTree(treeConfig);
    this.watches = new WatchRegistry(watchLimits);
  }

  apply(txn: Txn, meta: { readonly zxid: number; readonly timeMs: number }): AppliedTxn {
    if (txn.type === "request") {
      const session = this.tree.session(txn.sessionId);
      if (session !== undefined && txn.seq > session.lastSeq + 1) {
        return { result: OUT_OF_ORDER_RESULT, changes: [], closedSessions: [], events: [], skipped: true };
      }
    }
    const outcome = this.tree.apply(txn, { zxid: meta.zxid, timeMs: Math.floor(meta.timeMs) });
    const closedSessions: number[] = [];
    for (const event of outcome.sessionEvents ?? []) {
      if (event.type === "closed") {
        closedSessions.push(event.sessionId);
      }
    }
    const events: SessionEvent[] = outcome.changes.length === 0 ? [] : this.watches.trigger(outcome.changes, meta.zxid);
    for (const sessionId of closedSessions) this.watches.removeSession(sessionId);
    return { result: outcome.result, changes: outcome.changes, closedSessions, events };
  }

  read(op: ReadOp, caller: Caller): ReadResult {
    const result = this.tree.read(op, caller);
    if (!("watch" in op) || op.watch !== true) return result;
    // Registered in the same turn as the read: no change can slip between them.
    if (op.type === "exists") this.watches.addExistsWatch(caller.sessionId, op.path);
    else if (result.type !== "error") {
      if (op.type === "getData") this.watches.addDataWatch(caller.sessionId, op.path);
      else if (op.type === "getChildren") this.watches.addChildWatch(caller.sessionId, op.path);
    }
    return result;
  }

  addWatch(sessionId: number, path: string, mode: AddWatchMode): void {
    this.watches.addPersistentWatch(sessionId, path, mode);
  }

  addOneShotWatch(sessionId: number, path: string, kind: "data" | "exists" | "child"): void {
    if (kind === "data") this.watches.addDataWatch(sessionId, path);
    else if (kind === "exists") this.watches.addExistsWatch(sessionId, path);
    else this.watches.addChildWatch(sessionId, path);
  }

  removeWatches(sessionId: number, path: string, watcherType: WatcherType): ErrorCodeValue | undefined {
    const removed = this.watches.removeWatches(sessionId, path, watcherType);
    return "removed" in removed ? undefined : ErrorCode.NoWatcher;
  }

  removeSessionWatches(sessionId: number): void {
    this.watches.removeSession(sessionId);
  }

  session(sessionId: number) {
    return this.tree.session(sessionId);
  }

  sessions() {
    return this.tree.sessions();
  }

  findReapable(nowMs: number) {
    return this.tree.findReapable(nowMs);
  }

  sessionCount(): number {
    // The tree exposes no count; the session table is small next to the nodes, and this runs per createSession only.
    return this.tree.sessions().length;
  }

  resumeWatches(sessionId: number, lastZxidSeen: number, watches: WatchSet, history: readonly HistoryEntry[] | undefined, appliedZxid: number): ResumedWatches {
    this.watches.removeSession(sessionId);
    const outcome = this.watches.resumeSession(sessionId, lastZxidSeen, watches, this.tree, history, appliedZxid);
    return { missed: outcome.events.map((delivery) => delivery.event), gap: outcome.gap };
  }

  zxidsOf(path: string) {
    const stat = this.tree.statOf(path);
    return stat === undefined ? undefined : { czxid: stat.czxid, mzxid: stat.mzxid, pzxid: stat.pzxid };
  }

  watchCount(): number {
    let total = 0;
    for (const session of this.tree.sessions()) total += this.watches.count(session.sessionId);
    return total;
  }

  snapshot(): Uint8Array {
    return this.tree.snapshot();
  }

  restore(data: Uint8Array): RestoredSnapshot {
    const restored = DataTree.restore(data, this.treeConfig);
    // A snapshot comes from our own disk or the leader: unreadable means corruption, so stop.
    if (restored instanceof SnapshotError) throw new NodeInvariantViolation(`snapshot unreadable: ${restored.message}`);
    const before = this.tree;
    this.tree = restored;
    const closedSessions = before.sessions().filter((session) => restored.session(session.sessionId) === undefined).map((session) => session.sessionId);
    const events = this.watches.triggerRestore(before, restored, restored.lastZxid);
    for (const sessionId of closedSessions) this.watches.removeSession(sessionId);
    return { events, closedSessions };
  }

  digest(): string {
    return this.tree.digest();
  }
}

export function treeStateMachineFactory(treeConfig: TreeConfig = {}, watchLimits: Partial<WatchLimits> = {}): StateMachineFactory {
  return { create: () => new TreeStateMachine(treeConfig, watchLimits) };
}
