import type { Logger, Random } from "./env.js";

/** Where an actor lives: the node (network endpoint id) and the actor's name on it. */
export interface Address {
  readonly node: string;
  readonly actor: string;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.node === b.node && a.actor === b.actor;
}

export function formatAddress(address: Address): string {
  return `${address.actor}@${address.node}`;
}

/**
 * What became of a send (`offer`), as data. Only `sent` means the message was
 * accepted; remote delivery stays best-effort after that. Every other outcome
 * is counted in `ActorSystem.stats()`.
 */
export const SendOutcome = {
  sent: "sent",
  /** The destination's mailbox is at its ordinary bound (backpressure: the sender may retry later). */
  mailboxFull: "mailboxFull",
  /** No such local actor (never spawned, or stopped). */
  unknownActor: "unknownActor",
  /** The sender is stopped or the system has shut down. */
  stopped: "stopped",
  /** Remote: no codec for the destination actor. */
  noCodec: "noCodec",
  /** Remote: the encoded frame exceeds maxFrameBytes. */
  frameTooLarge: "frameTooLarge",
  /** Remote: no network endpoint attached. */
  noEndpoint: "noEndpoint",
} as const;
export type SendOutcome = (typeof SendOutcome)[keyof typeof SendOutcome];

/**
 * What an actor may do while handling a message. Everything non-deterministic
 * (time, randomness, timers) comes through here, never from globals.
 */
export interface ActorContext<M> {
  readonly self: Address;
  /**
   * Send to any actor, local or remote. Returns false when the message was
   * dropped locally (full mailbox, unknown local actor, no codec, frame too
   * large, no network); every drop is counted in `system.stats()` and logged.
   * true means "accepted": remote delivery stays best-effort.
   *
   * A send to `self` is never refused for a full mailbox: it may use the
   * mailbox's reserve (see ActorSystemOptions.reservedCapacity); if even the
   * reserve is used up, MailboxReserveExhausted is fatal (thrown).
   */
  send<N>(to: Address | ActorRef<N>, message: N): boolean;
  /** `send` with its outcome as data (SendOutcome). */
  offer<N>(to: Address | ActorRef<N>, message: N): SendOutcome;
  /**
   * For a local message the destination's progress depends on (a feed that
   * must not be lost): it may use the destination's reserve like a self-send,
   * and when even the reserve is used up it is fatal (MailboxReserveExhausted
   * thrown after the destination is stopped), never a silent drop. Local
   * addresses only (a remote one is an InvariantViolation). Returns `sent`, or
   * `unknownActor` / `stopped` when the destination or the system is gone.
   */
  sendCritical<N>(to: Address | ActorRef<N>, message: N): SendOutcome;
  /**
   * (Re)arm the named timer: after `delayMs`, `message` is delivered to this
   * actor's mailbox. A firing is never refused for a full mailbox (it uses the
   * reserve, like a self-send).
   */
  setTimer(name: string, delayMs: number, message: M): void;
  /** Cancel the named timer; a no-op if it is not armed. */
  cancelTimer(name: string): void;
  /** This actor's own seeded random stream (forked from the system's). */
  readonly random: Random;
  readonly logger: Logger;
  /** The node clock's monotonic milliseconds. */
  now(): number;
  /** Stop this actor after the current message: its timers are cancelled and its mailbox discarded. */
  stop(): void;
}

/**
 * An actor: private state lives in the behaviour object (or its closure);
 * `receive` runs one message at a time, to completion.
 */
export interface Behaviour<M> {
  /** `from` is the sender, or undefined for timers and sends from outside any actor. */
  receive(context: ActorContext<M>, message: M, from: Address | undefined): void;
  /** Called once, synchronously inside `spawn`. */
  started?(context: ActorContext<M>): void;
  /** Called once when the actor stops. */
  stopped?(context: ActorContext<M>): void;
}

/** A typed handle to a local actor. */
export interface ActorRef<M> {
  readonly address: Address;
  /** Send from outside any actor. Same result as `ActorContext.send`. */
  tell(message: M): boolean;
}
