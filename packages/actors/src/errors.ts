/**
 * Typed failures of the actor runtime, the networks and the reliable channel.
 * Each is a tagged class with a stable string `code`, matched by `_tag`.
 */

/** A broken internal invariant: the process should crash rather than corrupt state. */
export class InvariantViolation extends Error {
  readonly _tag = "InvariantViolation";
  readonly code = "INVARIANT_VIOLATION";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvariantViolation";
  }
}

/** Throws an InvariantViolation when `condition` is false. */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

/** The simulator's event queue hit its configured bound (a runaway simulation). */
export class SimQueueFull extends Error {
  readonly _tag = "SimQueueFull";
  readonly code = "SIM_QUEUE_FULL";
  constructor(readonly maxPendingEvents: number) {
    super(`simulation event queue is full (${maxPendingEvents} pending events)`);
    this.name = "SimQueueFull";
  }
}

/** An actor tried to hold more named timers than its configured bound. */
export class TimerLimitExceeded extends Error {
  readonly _tag = "TimerLimitExceeded";
  readonly code = "TIMER_LIMIT_EXCEEDED";
  constructor(
    readonly actor: string,
    readonly maxTimers: number,
  ) {
    super(`actor ${actor} holds more than ${maxTimers} timers`);
    this.name = "TimerLimitExceeded";
  }
}

/**
 * A message the destination's progress depends on (a self-send, a timer
 * firing, a `sendCritical` feed) could not be queued: the mailbox's reserve
 * above its ordinary bound is used up too. Only a runaway actor can get
 * here, so it is fatal: the destination is stopped, the failure counted and
 * logged at fatal, the system's `onFatal` told, and (failure policy "throw")
 * this error thrown so the process crashes for its supervisor to see.
 */
export class MailboxReserveExhausted extends Error {
  readonly _tag = "MailboxReserveExhausted";
  readonly code = "MAILBOX_RESERVE_EXHAUSTED";
  constructor(
    readonly actor: string,
    /** What could not be queued: a send to self, a timer firing, or a critical local feed from another actor. */
    readonly source: "self" | "timer" | "critical",
    readonly mailboxCapacity: number,
    readonly reservedCapacity: number,
  ) {
    super(`actor ${actor}: mailbox full including its reserve (${mailboxCapacity} + ${reservedCapacity}); a ${source} message was not queued`);
    this.name = "MailboxReserveExhausted";
  }
}

/** An actor with this name already runs on this node. */
export class ActorNameTaken extends Error {
  readonly _tag = "ActorNameTaken";
  readonly code = "ACTOR_NAME_TAKEN";
  constructor(readonly actor: string) {
    super(`an actor named ${actor} already exists`);
    this.name = "ActorNameTaken";
  }
}

/** A fault command that is not well formed; it was not applied. */
export class InvalidFaultCommand extends Error {
  readonly _tag = "InvalidFaultCommand";
  readonly code = "INVALID_FAULT_COMMAND";
  constructor(readonly reason: string) {
    super(`invalid fault command: ${reason}`);
    this.name = "InvalidFaultCommand";
  }
}

/** The reliable channel's peer sent nothing valid for longer than the configured deadline. */
export class ChannelPeerSilent extends Error {
  readonly _tag = "ChannelPeerSilent";
  readonly code = "CHANNEL_PEER_SILENT";
  constructor(
    readonly channelId: string,
    readonly silentMs: number,
  ) {
    super(`channel ${channelId}: peer silent for ${silentMs} ms`);
    this.name = "ChannelPeerSilent";
  }
}

/** The peer does not know this channel any more (it restarted or dropped it). */
export class ChannelReset extends Error {
  readonly _tag = "ChannelReset";
  readonly code = "CHANNEL_RESET";
  constructor(readonly channelId: string) {
    super(`channel ${channelId}: reset by peer`);
    this.name = "ChannelReset";
  }
}

/** Backpressure: the send window and the send queue are both full. Retry after deliveries are acknowledged. */
export class ChannelFull extends Error {
  readonly _tag = "ChannelFull";
  readonly code = "CHANNEL_FULL";
  constructor(
    readonly channelId: string,
    readonly maxQueuedMessages: number,
  ) {
    super(`channel ${channelId}: send window and queue full (${maxQueuedMessages} messages)`);
    this.name = "ChannelFull";
  }
}

/** The channel has failed or was closed; it accepts nothing more. */
export class ChannelClosed extends Error {
  readonly _tag = "ChannelClosed";
  readonly code = "CHANNEL_CLOSED";
  constructor(
    readonly channelId: string,
    options?: { cause?: unknown },
  ) {
    super(`channel ${channelId}: closed`, options);
    this.name = "ChannelClosed";
  }
}

export type ChannelFailure = ChannelPeerSilent | ChannelReset;

/** An endpoint with this id is already open on this network. */
export class EndpointInUse extends Error {
  readonly _tag = "EndpointInUse";
  readonly code = "ENDPOINT_IN_USE";
  constructor(readonly endpointId: string) {
    super(`endpoint ${endpointId} is already open`);
    this.name = "EndpointInUse";
  }
}
