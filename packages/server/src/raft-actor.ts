/**
 * The raft actor: owns the core and the durable log. Ticks the core, steps
 * peer messages, carries out Readys as soon as they appear (see `drive`: at
 * most one save in flight; messages that need it wait for it, the rest go at
 * once), and turns client commands into entries: as leader it proposes them
 * stamped with its wall time; otherwise it forwards them to the leader. The
 * senders re-send until they see the result applied, so a lost forward or a
 * proposal lost in a leader change costs only a retry.
 *
 * What may be lost and what may not (issue 15): peer messages, forwards,
 * read-index requests and replies are best-effort (Raft and the senders'
 * retries cover a loss; a refusal is counted by the actor system). What the
 * node's progress depends on is never silently lost: `tick`, `drive`,
 * `persisted` and `storageFailed` go to self (a timer or a self-send: the
 * mailbox's reserve takes them however full it is), the applier's feed
 * (`apply`, `restore`) is a critical send, and if even a reserve is used up
 * the node stops (onFatal) rather than wedge.
 *
 * Read-index contexts name this process's incarnation (`incarnation`): refs
 * restart at 1 in every process, so a reply for the previous incarnation's
 * ref R, delivered late after a restart, would otherwise satisfy the new
 * incarnation's read R with an index from before the restart (a stale
 * linearizable read). A reply for another incarnation is dropped and counted.
 */
import type { ActorContext, Behaviour, Clock, Codec, Random } from "@corral/actors";
import { DecodeFailure, SendOutcome, buggify } from "@corral/actors";
import type { DurableLog, Entry, HardState, Snapshot } from "@corral/consensus";
import { decodeTxn, encodeTxn, isDecodeError, type Txn } from "@corral/protocol";
import type { NodeConfig } from "./config.js";
import { EntryRefused, encodeCheckedEntryData, type EntryData } from "./entry-data.js";
import { NodeInvariantViolation, describeError } from "./errors.js";
import { ActorName, type NodeView } from "./node-view.js";
import type { RaftCore, RoutedMessage } from "./ports.js";

/** A client command the leader turns into an entry. */
export type Command =
  | { readonly kind: "txn"; readonly txn: Txn; readonly origin?: readonly [string, number] }
  /** `secretHash`: SHA-256 (hex) of the secret the client's node chose; the secret itself never leaves that node. */
  | { readonly kind: "createSession"; readonly timeoutMs: number; readonly secretHash: string; readonly origin: readonly [string, number] };

export type RaftActorMessage<M> =
  | { readonly type: "tick" }
  | { readonly type: "raft"; readonly message: M }
  | { readonly type: "persisted"; readonly token: number }
  | { readonly type: "storageFailed"; readonly error: string }
  /** Local (sessions, tracker) or from a peer that believes we lead. */
  | { readonly type: "propose"; readonly commands: readonly Command[] }
  /** Local: find the read index; the answer goes to the local sessions actor. */
  | { readonly type: "readIndex"; readonly ref: number }
  /**
   * From a follower: find the read index for it. `incarnation`: the
   * follower's (echoed in the result); absent only from a node that predates
   * incarnation tags (its result then carries none either).
   */
  | { readonly type: "readIndexRequest"; readonly ref: number; readonly incarnation?: number }
  /** From the leader: the read index for a local request of the incarnation named. */
  | { readonly type: "readIndexResult"; readonly ref: number; readonly index: number; readonly incarnation?: number }
  | { readonly type: "transferLeadership"; readonly to?: string }
  | { readonly type: "snapshot"; readonly index: number; readonly data: Uint8Array }
  /** Local, to self: carry out the Readys of everything received before it (see `scheduleDrive`). */
  | { readonly type: "drive" };

/** Messages the raft actor sends to the applier. */
export type ApplierFeed = { readonly type: "apply"; readonly entries: readonly Entry[] } | { readonly type: "restore"; readonly snapshot: Snapshot };

const MAX_COMMANDS_PER_MESSAGE = 1024;
/** A session secret's SHA-256, lowercase hex. */
const SECRET_HASH = /^[0-9a-f]{64}$/;
const MAX_SESSION_ID = 2 ** 52;
/** Readys carried out back to back in one turn when none needs a sync (each round consumes core state, so this only bounds the loop). */
const MAX_READY_ROUNDS_PER_TURN = 16;

export interface RaftActorOptions<M extends RoutedMessage> {
  readonly config: NodeConfig;
  readonly core: RaftCore<M>;
  readonly durableLog: DurableLog;
  readonly clock: Clock;
  readonly random: Random;
  readonly view: NodeView;
  /** Storage failed: the node must stop (crash rather than corrupt). */
  readonly onFatal: (error: unknown) => void;
  /** The core's bound check for peer messages (RaftCoreFactory.checkBounds). */
  readonly checkBounds?: (message: M) => { readonly field: string; readonly value: number } | undefined;
  /**
   * This process's incarnation (the node's persisted incarnation epoch: it
   * grows at every start), carried in read-index contexts. Without it a
   * per-process value is drawn from the wall clock and `random`, which also
   * differs between incarnations (less strictly: it is not persisted).
   */
  readonly incarnation?: number;
}

/** The largest incarnation a read-index context may carry on the wire. */
const MAX_INCARNATION = Number.MAX_SAFE_INTEGER;

export function raftActor<M extends RoutedMessage>(options: RaftActorOptions<M>): Behaviour<RaftActorMessage<M>> {
  const { config, core, durableLog, clock, view } = options;
  const random = options.random.fork("session-ids");
  const self = config.nodeId;
  const incarnation = options.incarnation ?? (Math.floor(clock.wallNow()) % 2 ** 42) * 1024 + options.random.fork("incarnation").int(1024);
  if (!Number.isSafeInteger(incarnation) || incarnation < 0) throw new NodeInvariantViolation(`raft actor: incarnation must be a safe non-negative integer, got ${incarnation}`);
  /** Read-index replies dropped because they answer another incarnation's request. */
  let staleReadIndexReplies = 0;
  let persisting = false;
  let persistToken = 0;
  let pendingReady: ReturnType<RaftCore<M>["ready"]> | undefined;
  /** Committed entries of `pendingReady` not yet handed to the applier (they wait for its save). */
  let pendingCommitted: readonly Entry[] = [];
  /** The last hard state handed to the durable log, and a commit-only change not yet written. */
  let savedHardState: HardState | undefined;
  let deferredHardState: HardState | undefined;
  let lastTerm = core.status().term;
  let storage: Promise<void> = Promise.resolve();
  let driveScheduled = false;
  /**
   * createSession commands this leader has proposed, by origin: a node re-sends
   * until it sees the session applied, and without this every re-send would
   * open an orphan session that lingers until it expires. Forgotten when
   * leadership is lost (the entry may then have been truncated). Bounded.
   */
  const proposedCreates = new Set<string>();
  const MAX_REMEMBERED_CREATES = 10_000;

  /** Set on tick: the per-peer match indexes in the view are refreshed at most once per tick (RawNode.status() is costly). */
  let matchIndexStale = true;
  const publish = (): void => {
    const basic = core.basicStatus();
    const previous = view.raft;
    const changed = basic.role !== previous.role || basic.term !== lastTerm || basic.leader !== previous.leader;
    if (!changed && !matchIndexStale && basic.commitIndex === previous.commitIndex && basic.lastIndex === previous.lastIndex) return;
    if (basic.role === "leader" && (previous.role !== "leader" || basic.term !== lastTerm)) view.counters.elections++;
    if (basic.role !== "leader") proposedCreates.clear();
    lastTerm = basic.term;
    if (changed || matchIndexStale) {
      matchIndexStale = false;
      view.raft = core.status();
    } else {
      view.raft = { ...basic, matchIndex: previous.matchIndex };
    }
  };

  const sendPeer = (context: ActorContext<RaftActorMessage<M>>, message: M): void => {
    context.send<RaftActorMessage<M>>({ node: message.to, actor: ActorName.raft }, { type: "raft", message });
  };

  let logError: (fields: Record<string, unknown>, message: string) => void = () => undefined;
  /** The entry's bytes, proven to decode on every replica (encodeCheckedEntryData); undefined (counted, logged) if not. */
  const checked = (data: EntryData): Uint8Array | undefined => {
    const bytes = encodeCheckedEntryData(data, config.maxEntryBytes);
    if (!(bytes instanceof EntryRefused)) return bytes;
    // The sessions actor checks every client write first, so this is a bug upstream; refusing keeps the log sound.
    const refused = ++view.counters.entriesRefused;
    if (refused === 1 || refused % 1000 === 0) logError({ txn: data.txn.type, reason: bytes.reason, refused }, "refused to propose an entry that would not decode on a replica");
    return undefined;
  };

  const toEntry = (command: Command): Uint8Array | undefined => {
    const timeMs = clock.wallNow();
    if (command.kind === "txn") {
      return checked(command.origin === undefined ? { timeMs, txn: command.txn } : { timeMs, txn: command.txn, origin: command.origin });
    }
    const originKey = `${command.origin[0]}\u0000${command.origin[1]}`;
    if (proposedCreates.has(originKey)) return undefined;
    if (view.stateMachine.sessionCount() >= config.maxSessions) return undefined;
    const timeoutMs = Math.min(config.maxSessionTimeoutMs, Math.max(config.minSessionTimeoutMs, command.timeoutMs));
    // The leader fixes the id so every replica applies the same session (ids are not secrets: the secret's hash comes with the command).
    const sessionId = 1 + random.int(2 ** 26) * 2 ** 26 + random.int(2 ** 26);
    if (sessionId >= MAX_SESSION_ID) return undefined;
    if (proposedCreates.size >= MAX_REMEMBERED_CREATES) proposedCreates.delete(proposedCreates.values().next().value!);
    proposedCreates.add(originKey);
    return checked({ timeMs, txn: { type: "createSession", sessionId, timeoutMs, secretHash: command.secretHash }, origin: command.origin });
  };

  /** Commands to forward to the leader, sent as one message when the turn's Readys are driven (bounded by MAX_COMMANDS_PER_MESSAGE). */
  let forwardBuffer: Command[] = [];

  const flushForwards = (context: ActorContext<RaftActorMessage<M>>): void => {
    if (forwardBuffer.length === 0) return;
    const commands = forwardBuffer;
    forwardBuffer = [];
    const status = core.basicStatus();
    if (status.role === "leader") {
      // Became leader since they were buffered: propose them here.
      propose(context, commands);
      return;
    }
    if (status.leader !== null && status.leader !== self && !buggify("raft.drop-forward") /* BUGGIFY (simulation only): a lost forward, re-sent by its sender */) {
      for (let start = 0; start < commands.length; start += MAX_COMMANDS_PER_MESSAGE) {
        view.counters.forwards++;
        context.send<RaftActorMessage<M>>({ node: status.leader, actor: ActorName.raft }, { type: "propose", commands: commands.slice(start, start + MAX_COMMANDS_PER_MESSAGE) });
      }
    }
    // No known leader: dropped; the senders re-send.
  };

  const propose = (context: ActorContext<RaftActorMessage<M>>, commands: readonly Command[]): void => {
    const status = core.basicStatus();
    if (status.role === "leader") {
      const entries: Uint8Array[] = [];
      for (const command of commands) {
        const entry = toEntry(command);
        if (entry !== undefined) entries.push(entry);
      }
      if (entries.length > 0 && core.propose(entries)) view.counters.proposals += entries.length;
      return;
    }
    if (status.leader === null || status.leader === self) return; // no known leader: dropped; the sender re-sends
    // Forwards of one turn leave as one message (in arrival order, so a session's writes keep their order).
    if (forwardBuffer.length + commands.length > MAX_COMMANDS_PER_MESSAGE) flushForwards(context);
    for (const command of commands) forwardBuffer.push(command);
    if (forwardBuffer.length >= MAX_COMMANDS_PER_MESSAGE) flushForwards(context);
  };

  /** `node NUL incarnation NUL ref`; the incarnation is empty for a request from a node without tags. */
  const readIndexContext = (node: string, requestIncarnation: number | undefined, ref: number): Uint8Array =>
    new TextEncoder().encode(`${node}\u0000${requestIncarnation ?? ""}\u0000${ref}`);

  const dropStaleReply = (context: ActorContext<RaftActorMessage<M>>, ref: number, replyIncarnation: number | undefined): void => {
    const dropped = ++staleReadIndexReplies;
    if (dropped === 1 || dropped % 1000 === 0) context.logger.info({ ref, incarnation: replyIncarnation ?? null, ours: incarnation, dropped }, "dropped a read-index reply for another incarnation of this node");
  };

  const handleReadStates = (context: ActorContext<RaftActorMessage<M>>, states: readonly { index: number; context: Uint8Array }[]): void => {
    for (const state of states) {
      const text = new TextDecoder().decode(state.context);
      const refAt = text.lastIndexOf("\u0000");
      const incarnationAt = refAt > 0 ? text.lastIndexOf("\u0000", refAt - 1) : -1;
      if (incarnationAt < 0) continue;
      const node = text.slice(0, incarnationAt);
      const incarnationText = text.slice(incarnationAt + 1, refAt);
      const requestIncarnation = incarnationText === "" ? undefined : Number(incarnationText);
      const ref = Number(text.slice(refAt + 1));
      if (!Number.isSafeInteger(ref) || (requestIncarnation !== undefined && !Number.isSafeInteger(requestIncarnation))) continue;
      if (node === self) {
        // Contexts live only in this process's core, so this holds by construction; checked all the same.
        if (requestIncarnation !== incarnation) dropStaleReply(context, ref, requestIncarnation);
        else context.send({ node: self, actor: ActorName.sessions }, { type: "readIndexDone", ref, index: state.index });
      } else {
        const result: RaftActorMessage<M> =
          requestIncarnation === undefined ? { type: "readIndexResult", ref, index: state.index } : { type: "readIndexResult", ref, index: state.index, incarnation: requestIncarnation };
        context.send<RaftActorMessage<M>>({ node, actor: ActorName.raft }, result);
      }
    }
  };

  /**
   * A feed the node cannot lose: to the applier (critical: it may use the
   * applier's mailbox reserve) or to self from a storage callback (a
   * self-send). If it still cannot be queued the node stops: a lost `apply`
   * would leave the tree behind for good, a lost `persisted` would stop
   * every later batch, a lost `storageFailed` would keep a node with a
   * failed disk running.
   */
  const mustDeliver = (context: ActorContext<RaftActorMessage<M>>, what: string, send: () => SendOutcome): void => {
    let outcome: SendOutcome;
    try {
      outcome = send();
    } catch (error) {
      options.onFatal(error);
      throw error;
    }
    if (outcome === SendOutcome.sent || outcome === SendOutcome.stopped) return; // stopped: the node is shutting down
    const error = new NodeInvariantViolation(`raft actor: ${what} could not be delivered (${outcome})`);
    context.logger.fatal({ what, outcome }, "a message the node's progress depends on could not be delivered: stopping the node");
    options.onFatal(error);
  };

  const applyCommitted = (context: ActorContext<RaftActorMessage<M>>, entries: readonly Entry[]): void => {
    if (entries.length === 0) return;
    mustDeliver(context, "apply", () => context.sendCritical<ApplierFeed>({ node: self, actor: ActorName.applier }, { type: "apply", entries }));
  };

  /** From a storage promise's callback (outside any receive): a self-send, which the mailbox reserve always takes. */
  const reportStorage = (context: ActorContext<RaftActorMessage<M>>, message: Extract<RaftActorMessage<M>, { type: "persisted" | "storageFailed" }>): void => {
    try {
      mustDeliver(context, message.type, () => context.offer<RaftActorMessage<M>>(context.self, message));
    } catch {
      // Already reported through onFatal; a rejected storage chain must not become an unhandled rejection.
    }
  };

  /**
   * Carry out Readys until one needs a sync. A Ready that changes nothing
   * durable but the commit index (etcd's MustSync is false: commit is
   * volatile in Raft) is carried out at once: its messages and acks go out,
   * its committed entries are applied, and the commit is written with the
   * next synced batch. Otherwise the batch is saved; the messages that do not
   * depend on it, the read states and the committed entries that were
   * already durable here go out now, the rest once the save has synced.
   */
  const drive = (context: ActorContext<RaftActorMessage<M>>): void => {
    flushForwards(context);
    for (let round = 0; round < MAX_READY_ROUNDS_PER_TURN && !persisting && core.hasReady(); round++) {
      const ready = core.ready();
      for (const message of ready.messages) sendPeer(context, message);
      handleReadStates(context, ready.readStates);
      const hardState = ready.hardState;
      const commitOnly = hardState !== undefined && savedHardState !== undefined && hardState.term === savedHardState.term && hardState.vote === savedHardState.vote;
      if (ready.snapshot === undefined && ready.entries.length === 0 && (hardState === undefined || commitOnly)) {
        if (hardState !== undefined) deferredHardState = hardState;
        for (const peerMessage of ready.messagesAfterPersist) sendPeer(context, peerMessage);
        applyCommitted(context, ready.committedEntries);
        core.advance();
        continue;
      }
      pendingReady = ready;
      // Every earlier Ready is durable: committed entries below this batch's first new entry are on our disk.
      const firstNewIndex = ready.entries[0]?.index ?? Number.POSITIVE_INFINITY;
      let durableCommitted = 0;
      if (ready.snapshot === undefined) {
        while (durableCommitted < ready.committedEntries.length && ready.committedEntries[durableCommitted]!.index < firstNewIndex) durableCommitted++;
      }
      pendingCommitted = durableCommitted === 0 ? ready.committedEntries : ready.committedEntries.slice(durableCommitted);
      if (durableCommitted > 0) applyCommitted(context, ready.committedEntries.slice(0, durableCommitted));
      if (ready.snapshot !== undefined) {
        const snapshot = ready.snapshot;
        mustDeliver(context, "restore", () => context.sendCritical<ApplierFeed>({ node: self, actor: ActorName.applier }, { type: "restore", snapshot }));
        storage = storage.then(() => durableLog.saveSnapshot(snapshot));
      }
      persisting = true;
      const token = ++persistToken;
      const started = clock.now();
      // A commit-only change deferred earlier rides with this batch unless the batch carries a newer hard state.
      const batchHardState = hardState ?? deferredHardState;
      deferredHardState = undefined;
      if (batchHardState !== undefined) savedHardState = batchHardState;
      const batch = batchHardState === undefined ? { entries: ready.entries } : { hardState: batchHardState, entries: ready.entries };
      const needsSave = batchHardState !== undefined || ready.entries.length > 0;
      storage = storage
        .then(() => (needsSave ? durableLog.save(batch) : undefined))
        .then(
          () => {
            if (needsSave) {
              view.counters.fsyncCount++;
              view.counters.fsyncTotalMs += clock.now() - started;
            }
            reportStorage(context, { type: "persisted", token });
          },
          (error: unknown) => {
            reportStorage(context, { type: "storageFailed", error: describeError(error) });
          },
        );
    }
    publish();
  };

  /**
   * Drive once after the messages already in the mailbox rather than after each:
   * a "drive" sent to self queues behind them and runs in the same drain, so the
   * proposals, appends and acks of one network read become one Ready (one MsgApp
   * per peer, one save) instead of one each. Costs no event-loop turn.
   */
  const scheduleDrive = (context: ActorContext<RaftActorMessage<M>>): void => {
    if (driveScheduled) return;
    driveScheduled = true;
    // A self-send: the mailbox reserve takes it however full the mailbox is (or the actor stops, fatally).
    if (context.offer<RaftActorMessage<M>>(context.self, { type: "drive" }) !== SendOutcome.sent) driveScheduled = false;
  };

  return {
    started(context) {
      logError = (fields, message) => context.logger.error(fields, message);
      context.setTimer("tick", config.tickMs, { type: "tick" });
      publish();
      drive(context);
    },
    receive(context, message, from) {
      switch (message.type) {
        case "tick":
          context.setTimer("tick", config.tickMs, { type: "tick" });
          core.tick();
          matchIndexStale = true;
          break;
        case "raft": {
          // Authenticated members only reach here, but a number beyond its bound must still not reach the core.
          const outOfBounds = options.checkBounds?.(message.message);
          if (outOfBounds !== undefined) {
            const dropped = ++view.counters.raftOutOfBounds;
            if (dropped === 1 || dropped % 1000 === 0) context.logger.warn({ from: from?.node, field: outOfBounds.field, value: outOfBounds.value, dropped }, "dropped a raft message with a number beyond its bound");
            return;
          }
          core.step(message.message);
          break;
        }
        case "persisted": {
          if (message.token !== persistToken || pendingReady === undefined) break;
          const ready = pendingReady;
          pendingReady = undefined;
          persisting = false;
          for (const peerMessage of ready.messagesAfterPersist) sendPeer(context, peerMessage);
          applyCommitted(context, pendingCommitted);
          pendingCommitted = [];
          core.advance();
          break;
        }
        case "storageFailed":
          context.logger.fatal({ error: message.error }, "durable log failed: stopping the node");
          options.onFatal(new Error(message.error));
          return;
        case "propose":
          propose(context, message.commands);
          break;
        case "readIndex":
        case "readIndexRequest": {
          // The frame layer has checked that a remote sender is the node it claims to be.
          const origin = message.type === "readIndex" ? self : from?.node;
          if (origin === undefined) break;
          view.counters.readIndexRequests++;
          const status = core.basicStatus();
          // Ours carry this incarnation; a follower's carry the one it sent (none from a node without tags).
          const requestIncarnation = message.type === "readIndex" ? incarnation : message.incarnation;
          if (status.role === "leader") {
            core.readIndex(readIndexContext(origin, requestIncarnation, message.ref));
          } else if (message.type === "readIndex" && status.leader !== null && status.leader !== self) {
            context.send<RaftActorMessage<M>>({ node: status.leader, actor: ActorName.raft }, { type: "readIndexRequest", ref: message.ref, incarnation });
          }
          break;
        }
        case "readIndexResult":
          // Only an answer to this incarnation's request: an earlier process's ref R is not our ref R.
          if (message.incarnation !== incarnation) {
            dropStaleReply(context, message.ref, message.incarnation);
            break;
          }
          context.send({ node: self, actor: ActorName.sessions }, { type: "readIndexDone", ref: message.ref, index: message.index });
          break;
        case "transferLeadership": {
          const status = core.status();
          if (status.role !== "leader") break;
          const target =
            message.to ??
            Object.entries(status.matchIndex)
              .filter(([peer]) => peer !== self)
              .sort((a, b) => b[1] - a[1])[0]?.[0];
          if (target !== undefined) core.transferLeadership(target);
          break;
        }
        case "snapshot": {
          const snapshot = core.compact(message.index, message.data);
          if (snapshot === undefined) break;
          // A failed snapshot save or compaction is a storage failure like any other (and never an unhandled rejection).
          storage = storage
            .then(() => durableLog.saveSnapshot(snapshot))
            .then(() => durableLog.compact(snapshot.meta.index))
            .then(undefined, (error: unknown) => {
              reportStorage(context, { type: "storageFailed", error: describeError(error) });
            });
          break;
        }
        case "drive":
          driveScheduled = false;
          drive(context);
          return;
      }
      scheduleDrive(context);
    },
  };
}

/**
 * Wire codec for the raft actor. Only the peer-facing messages are accepted;
 * local-only messages (tick, persisted, snapshot ...) are rejected as input.
 */
export function raftActorCodec<M>(coreCodec: Codec<M>): Codec<RaftActorMessage<M>> {
  const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u);
  const isRef = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0;
  const isIncarnation = (u: unknown): u is number => isRef(u) && u <= MAX_INCARNATION;
  const encodeCommand = (command: Command): unknown =>
    command.kind === "txn"
      ? command.origin === undefined
        ? { kind: "txn", txn: encodeTxn(command.txn) }
        : { kind: "txn", txn: encodeTxn(command.txn), origin: [...command.origin] }
      : { kind: "createSession", timeoutMs: command.timeoutMs, secretHash: command.secretHash, origin: [...command.origin] };
  const decodeOrigin = (u: unknown): readonly [string, number] | undefined => {
    if (!Array.isArray(u) || u.length !== 2 || typeof u[0] !== "string" || u[0].length > 256 || !isRef(u[1])) return undefined;
    return [u[0], u[1]];
  };
  const decodeCommand = (u: unknown): Command | DecodeFailure => {
    if (!isObject(u)) return new DecodeFailure("command: expected an object");
    if (u["kind"] === "txn") {
      const txn = decodeTxn(u["txn"]);
      if (isDecodeError(txn)) return new DecodeFailure(`command.txn: ${txn.message}`);
      if (u["origin"] === undefined) return { kind: "txn", txn };
      const origin = decodeOrigin(u["origin"]);
      if (origin === undefined) return new DecodeFailure("command.origin");
      return { kind: "txn", txn, origin };
    }
    if (u["kind"] === "createSession") {
      const timeoutMs = u["timeoutMs"];
      const secretHash = u["secretHash"];
      const origin = decodeOrigin(u["origin"]);
      if (!isRef(timeoutMs) || origin === undefined) return new DecodeFailure("command: createSession fields");
      if (typeof secretHash !== "string" || !SECRET_HASH.test(secretHash)) return new DecodeFailure("command: createSession secretHash");
      return { kind: "createSession", timeoutMs, secretHash, origin };
    }
    return new DecodeFailure("command: unknown kind");
  };
  return {
    encode(message) {
      switch (message.type) {
        case "raft":
          return { type: "raft", message: coreCodec.encode(message.message) };
        case "propose":
          return { type: "propose", commands: message.commands.map(encodeCommand) };
        case "readIndexRequest":
          return message.incarnation === undefined ? { type: "readIndexRequest", ref: message.ref } : { type: "readIndexRequest", ref: message.ref, incarnation: message.incarnation };
        case "readIndexResult":
          return message.incarnation === undefined
            ? { type: "readIndexResult", ref: message.ref, index: message.index }
            : { type: "readIndexResult", ref: message.ref, index: message.index, incarnation: message.incarnation };
        default:
          throw new TypeError(`raft actor message ${message.type} is local only`);
      }
    },
    decode(input) {
      if (!isObject(input)) return new DecodeFailure("expected an object");
      switch (input["type"]) {
        case "raft": {
          const message = coreCodec.decode(input["message"]);
          if (message instanceof DecodeFailure) return message;
          return { type: "raft", message };
        }
        case "propose": {
          const raw = input["commands"];
          if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_COMMANDS_PER_MESSAGE) return new DecodeFailure("commands");
          const commands: Command[] = [];
          for (const item of raw) {
            const command = decodeCommand(item);
            if (command instanceof DecodeFailure) return command;
            commands.push(command);
          }
          return { type: "propose", commands };
        }
        case "readIndexRequest": {
          const incarnation = input["incarnation"];
          if (!isRef(input["ref"])) return new DecodeFailure("ref");
          if (incarnation === undefined) return { type: "readIndexRequest", ref: input["ref"] };
          return isIncarnation(incarnation) ? { type: "readIndexRequest", ref: input["ref"], incarnation } : new DecodeFailure("readIndexRequest incarnation");
        }
        case "readIndexResult": {
          const incarnation = input["incarnation"];
          if (!isRef(input["ref"]) || !isRef(input["index"])) return new DecodeFailure("readIndexResult fields");
          if (incarnation === undefined) return { type: "readIndexResult", ref: input["ref"], index: input["index"] };
          return isIncarnation(incarnation) ? { type: "readIndexResult", ref: input["ref"], index: input["index"], incarnation } : new DecodeFailure("readIndexResult incarnation");
        }
        default:
          return new DecodeFailure("unknown raft actor message type");
      }
    },
  };
}
