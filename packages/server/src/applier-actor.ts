/**
 * The applier: owns the tree and the watch registry. Applies committed
 * entries in order and serves reads, watch registration and reconnects from
 * the applied state. Everything it tells the sessions actor goes through ONE
 * local mailbox in order, so a watch event always precedes any answer that
 * reflects the change behind it (DESIGN §1 Watches).
 *
 * That feed is critical (issue 15): a lost "applied" would lose results and
 * watch events, a lost answer would wedge its connection behind it. It goes
 * with `sendCritical` (the sessions mailbox's reserve takes it when client
 * traffic has filled the ordinary bound); a feed that still cannot be queued
 * stops the node. The snapshot hand-off to the raft actor is critical too
 * (one per snapshotEveryEntries entries).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ActorContext, Behaviour } from "@corral/actors";
import { SendOutcome, buggify } from "@corral/actors";
import { EntryType, type Entry } from "@corral/consensus";
import {
  CorralCode,
  ErrorCode,
  errorResult,
  type AddWatchOp,
  type ErrorCodeValue,
  type ReadOp,
  type ReadResult,
  type RemoveWatchesOp,
  type SessionOpResult,
  type TxnResult,
  type WatchEvent,
  type WatchSet,
} from "@corral/protocol";
import type { NodeConfig } from "./config.js";
import { ChangeHistory } from "./change-history.js";
import { CorruptEntry, corruptEntryReport, decodeEntryData } from "./entry-data.js";
import { NodeInvariantViolation, nodeInvariant } from "./errors.js";
import { ActorName, type NodeView } from "./node-view.js";
import type { Caller, StateMachine } from "./ports.js";
import type { ApplierFeed, RaftActorMessage } from "./raft-actor.js";

/**
 * Does `secret` hash to `secretHash`? Compares the two SHA-256 digests in
 * constant time (equal lengths by construction), so the time taken says
 * nothing about how much of a guess was right.
 */
export function secretMatches(secret: string, secretHash: string): boolean {
  const presented = createHash("sha256").update(secret, "utf8").digest();
  const stored = Buffer.from(secretHash, "hex");
  if (stored.length !== presented.length) return false;
  return timingSafeEqual(presented, stored);
}

export type ApplierMessage =
  | ApplierFeed
  /** Serve a read once the tree has applied `minIndex`. */
  | { readonly type: "read"; readonly conn: number; readonly xid: number; readonly op: ReadOp; readonly caller: Caller; readonly minIndex: number }
  /** Answer `result` once the tree has applied `minIndex` (sync). */
  | { readonly type: "wait"; readonly conn: number; readonly xid: number; readonly minIndex: number; readonly result: SessionOpResult }
  | { readonly type: "watchOp"; readonly conn: number; readonly xid: number; readonly sessionId: number; readonly op: AddWatchOp | RemoveWatchesOp }
  | {
      readonly type: "attach";
      readonly conn: number;
      readonly sessionId: number;
      readonly secret: string;
      readonly lastZxidSeen: number;
      readonly watches: WatchSet;
    }
  | { readonly type: "dropWatches"; readonly sessionId: number }
  /** The connection is gone: drop whatever it still waits for (a bogus lastZxidSeen must not pin memory). */
  | { readonly type: "forgetConnection"; readonly conn: number };

/** What one applied entry means to the sessions actor. */
export type AppliedItem =
  | { readonly kind: "event"; readonly sessionId: number; readonly event: WatchEvent }
  | { readonly kind: "result"; readonly sessionId: number; readonly seq: number; readonly zxid: number; readonly result: TxnResult }
  | {
      readonly kind: "sessionCreated";
      readonly origin: readonly [string, number] | undefined;
      readonly sessionId: number;
      readonly timeoutMs: number;
      readonly zxid: number;
    }
  | { readonly kind: "sessionClosed"; readonly sessionId: number; readonly expired: boolean };

export type SessionsFeed =
  | { readonly type: "applied"; readonly index: number; readonly items: readonly AppliedItem[] }
  | { readonly type: "answer"; readonly conn: number; readonly xid: number; readonly zxid: number; readonly result: ReadResult | SessionOpResult }
  | {
      readonly type: "attachResult";
      readonly conn: number;
      readonly ok: true;
      readonly sessionId: number;
      /** The secret the client presented (checked against the session table's hash). */
      readonly secret: string;
      readonly timeoutMs: number;
      readonly zxid: number;
      /** The session's last applied write seq: its next new write must carry lastSeq + 1. */
      readonly lastSeq: number;
      readonly missed: readonly WatchEvent[];
      /** Some persistent-watch events since lastZxidSeen may be missing from `missed` (history too short). */
      readonly watchGap: boolean;
    }
  | { readonly type: "attachResult"; readonly conn: number; readonly ok: false; readonly code: ErrorCodeValue; readonly message: string };

type Waiting = Extract<ApplierMessage, { type: "read" | "wait" | "attach" }>;

export interface ApplierOptions {
  readonly config: NodeConfig;
  readonly stateMachine: StateMachine;
  readonly view: NodeView;
  /** Index of the snapshot the tree was restored from at start (0: none). */
  readonly initialIndex: number;
}

export function applierActor(options: ApplierOptions): Behaviour<ApplierMessage> {
  const { config, stateMachine: tree, view } = options;
  const self = config.nodeId;
  const sessions = { node: self, actor: ActorName.sessions };
  let applied = options.initialIndex;
  let lastSnapshotIndex = options.initialIndex;
  let waiting: Waiting[] = [];
  /** Recent changes, for exact missed events on reconnect; history before the restored snapshot is unknown. */
  const history = new ChangeHistory(config.watchReplayMaxChanges, options.initialIndex);
  view.appliedIndex = applied;
  let logFatal: (fields: Record<string, unknown>, message: string) => void = () => undefined;

  const applyEntry = (entry: Entry, items: AppliedItem[]): void => {
    nodeInvariant(entry.index === applied + 1, `applier: entry ${entry.index} after ${applied}`);
    applied = entry.index;
    if (entry.type !== EntryType.Normal) return;
    const data = decodeEntryData(entry.data);
    if (data instanceof CorruptEntry) {
      // Impossible by construction (every entry is decoded before it is proposed): a bug, so stop loudly with what a bug hunt needs.
      logFatal(corruptEntryReport(entry, data.reason), "BUG: a committed entry does not decode; this replica cannot apply it and stops (report this with the fields above)");
      throw new NodeInvariantViolation(`committed entry ${entry.index} (term ${entry.term}) does not decode: ${data.reason}`);
    }
    const txn = data.txn;
    const outcome = tree.apply(txn, { zxid: entry.index, timeMs: data.timeMs });
    if (outcome.skipped === true) {
      view.counters.outOfOrderSkipped++;
      return;
    }
    if (outcome.changes === undefined) history.reset(entry.index); // a machine that does not say what changed: history unknown from here
    else history.record(entry.index, outcome.changes);
    for (const fired of outcome.events) items.push({ kind: "event", sessionId: fired.sessionId, event: fired.event });
    if (txn.type === "request") {
      items.push({ kind: "result", sessionId: txn.sessionId, seq: txn.seq, zxid: entry.index, result: outcome.result });
    } else if (txn.type === "createSession" && outcome.result.type === "createSession") {
      items.push({ kind: "sessionCreated", origin: data.origin, sessionId: txn.sessionId, timeoutMs: txn.timeoutMs, zxid: entry.index });
    }
    for (const sessionId of outcome.closedSessions) {
      items.push({ kind: "sessionClosed", sessionId, expired: txn.type === "closeSession" && txn.reason === "expired" });
    }
  };

  const attach = (request: Extract<ApplierMessage, { type: "attach" }>): SessionsFeed => {
    const session = tree.session(request.sessionId);
    if (session === undefined) {
      return { type: "attachResult", conn: request.conn, ok: false, code: ErrorCode.SessionExpired, message: `session ${request.sessionId} has expired or was closed` };
    }
    if (!secretMatches(request.secret, session.secretHash)) {
      return { type: "attachResult", conn: request.conn, ok: false, code: ErrorCode.AuthFailed, message: "wrong session secret" };
    }
    // Re-register from scratch (the client's set is the truth) and send what was missed since lastZxidSeen:
    // replayed exactly from the history when it reaches back that far, else what the tree shows, with the gap
    // flagged. Waited for applied >= lastZxidSeen, so the range is never in the future.
    const since = request.lastZxidSeen;
    const resumed = tree.resumeWatches(request.sessionId, since, request.watches, history.after(since), applied);
    if (resumed.gap) view.counters.watchGaps++;
    const { missed, gap } = resumed;
    return {
      type: "attachResult",
      conn: request.conn,
      ok: true,
      sessionId: session.sessionId,
      secret: request.secret,
      timeoutMs: session.timeoutMs,
      zxid: applied,
      lastSeq: session.lastSeq,
      missed,
      watchGap: gap,
    };
  };

  const serve = (request: Waiting): SessionsFeed => {
    switch (request.type) {
      case "read":
        return { type: "answer", conn: request.conn, xid: request.xid, zxid: applied, result: tree.read(request.op, request.caller) };
      case "wait":
        return { type: "answer", conn: request.conn, xid: request.xid, zxid: applied, result: request.result };
      case "attach":
        return attach(request);
    }
  };

  const minIndexOf = (request: Waiting): number => (request.type === "attach" ? request.lastZxidSeen : request.minIndex);

  /** To the sessions actor, never lost: queued (into its reserve if need be) or the node stops. */
  const feed = (context: ActorContext<ApplierMessage>, message: SessionsFeed): void => {
    const outcome = context.sendCritical<SessionsFeed>(sessions, message);
    if (outcome === SendOutcome.sent || outcome === SendOutcome.stopped) return; // stopped: the node is shutting down
    logFatal({ outcome, feed: message.type }, "the sessions actor cannot take the applier's feed: stopping");
    throw new NodeInvariantViolation(`applier: feed to the sessions actor not delivered (${outcome})`);
  };

  const serveOrWait = (context: ActorContext<ApplierMessage>, request: Waiting): void => {
    if (minIndexOf(request) <= applied) {
      feed(context, serve(request));
      return;
    }
    if (waiting.length >= config.maxWaitingReads) {
      const answer: SessionsFeed =
        request.type === "attach"
          ? { type: "attachResult", conn: request.conn, ok: false, code: CorralCode.TooManyRequests, message: "node is catching up: too many waiting" }
          : { type: "answer", conn: request.conn, xid: request.xid, zxid: applied, result: errorResult(CorralCode.TooManyRequests) };
      feed(context, answer);
      return;
    }
    waiting.push(request);
  };

  return {
    started(context) {
      logFatal = (fields, message) => context.logger.fatal(fields, message);
    },
    receive(context, message) {
      switch (message.type) {
        case "apply": {
          const items: AppliedItem[] = [];
          for (const entry of message.entries) {
            if (entry.index <= applied) continue; // already covered by a restored snapshot
            applyEntry(entry, items);
          }
          view.appliedIndex = applied;
          feed(context, { type: "applied", index: applied, items });
          if (waiting.length > 0) {
            const still: Waiting[] = [];
            for (const request of waiting) {
              if (minIndexOf(request) <= applied) feed(context, serve(request));
              else still.push(request);
            }
            waiting = still;
          }
          if (config.snapshotEveryEntries > 0 && (applied - lastSnapshotIndex >= config.snapshotEveryEntries || (applied > lastSnapshotIndex && buggify("applier.force-snapshot") /* BUGGIFY (simulation only): an early snapshot + compaction */))) {
            // Critical (one per snapshotEveryEntries, so it cannot flood the reserve): offering it again after a
            // refusal would serialize the whole tree on every apply while the raft mailbox stays full.
            if (context.sendCritical<RaftActorMessage<never>>({ node: self, actor: ActorName.raft }, { type: "snapshot", index: applied, data: tree.snapshot() }) === SendOutcome.sent) {
              lastSnapshotIndex = applied;
              view.counters.snapshotsTaken++;
            }
          }
          break;
        }
        case "restore": {
          if (message.snapshot.meta.index <= applied) break;
          // The snapshot jumps this replica past entries it never applied: their watch events and closed
          // sessions come from comparing the trees, and go out before anything that reflects the new state.
          const restored = tree.restore(message.snapshot.data);
          applied = message.snapshot.meta.index;
          history.reset(applied);
          lastSnapshotIndex = applied;
          view.appliedIndex = applied;
          const items: AppliedItem[] = restored.events.map((fired) => ({ kind: "event", sessionId: fired.sessionId, event: fired.event }));
          for (const sessionId of restored.closedSessions) items.push({ kind: "sessionClosed", sessionId, expired: true });
          feed(context, { type: "applied", index: applied, items });
          if (waiting.length > 0) {
            const still: Waiting[] = [];
            for (const request of waiting) {
              if (minIndexOf(request) <= applied) feed(context, serve(request));
              else still.push(request);
            }
            waiting = still;
          }
          break;
        }
        case "read":
        case "wait":
        case "attach":
          serveOrWait(context, message);
          break;
        case "watchOp": {
          let result: SessionOpResult | ReadResult;
          if (message.op.type === "addWatch") {
            tree.addWatch(message.sessionId, message.op.path, message.op.mode);
            result = { type: "addWatch" };
          } else {
            const failure = tree.removeWatches(message.sessionId, message.op.path, message.op.watcherType);
            result = failure === undefined ? { type: "removeWatches" } : errorResult(failure, message.op.path);
          }
          feed(context, { type: "answer", conn: message.conn, xid: message.xid, zxid: applied, result });
          break;
        }
        case "dropWatches":
          tree.removeSessionWatches(message.sessionId);
          break;
        case "forgetConnection":
          if (waiting.length > 0) waiting = waiting.filter((request) => request.conn !== message.conn);
          break;
      }
    },
  };
}
