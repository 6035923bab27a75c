import type { ActorContext, ActorRef, Address, Behaviour } from "./actor.js";
import { formatAddress } from "./actor.js";
import { isDecodeFailure } from "./codec.js";
import type { CodecRegistry } from "./codec.js";
import type { Clock, Logger, Random, TimerHandle } from "./env.js";
import { ActorNameTaken, TimerLimitExceeded, invariant } from "./errors.js";
import { BoundedQueue } from "./bounded-queue.js";
import type { Executor } from "./executor.js";
import { FrameTooLarge, decodeFrame, encodeActorFrame, isFrameError } from "./frame.js";
import type { FrameOptions } from "./frame.js";
import type { EndpointId, NetworkEndpoint } from "./network.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./network.js";

/**
 * The actors of one node. Local sends go into the destination's bounded
 * mailbox and are delivered asynchronously through the executor, in send
 * order. Remote sends are encoded with the destination actor's codec and
 * sent as frames through the node's network endpoint; received frames are
 * validated and anything bad is dropped and counted, never thrown.
 *
 * Mailbox overflow policy: the new message is dropped, `mailboxOverflows` is
 * incremented, a warning is logged (first and every 1000th), and the sender's
 * `send`/`tell` returns false. Senders that must not lose messages use
 * request/response with retries, as across the network.
 */

export interface ActorSystemOptions {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly executor: Executor;
  /** The node's network endpoint; may also be attached later with `attachEndpoint`. */
  readonly endpoint?: NetworkEndpoint;
  /** Codecs by destination actor name, for remote sends and received frames. */
  readonly codecs?: CodecRegistry;
  readonly clusterTag?: string;
  readonly maxFrameBytes?: number;
  /** Per-actor mailbox bound (default 10,000). */
  readonly mailboxCapacity?: number;
  /** Per-actor bound on armed named timers (default 1,024). */
  readonly maxTimersPerActor?: number;
  /** Messages one actor handles before yielding to the next ready actor (default 64). */
  readonly messagesPerActorTurn?: number;
  /** Messages handled in one executor task before yielding to the event loop (default 4,096). */
  readonly messagesPerDrain?: number;
  /** Receives reliable-channel traffic (frames of kind "r"); without it such frames are dropped and counted. */
  readonly onChannelFrame?: (from: EndpointId, payload: unknown) => void;
  /**
   * What to do when `receive` throws: "throw" (default) stops the actor, logs
   * at fatal and rethrows (crash rather than corrupt); "stop-actor" only stops it.
   */
  readonly failurePolicy?: "throw" | "stop-actor";
}

export interface ActorSystemStats {
  /** Messages handed to a behaviour's receive. */
  messagesHandled: number;
  localSends: number;
  remoteSends: number;
  /** Local messages dropped because the destination mailbox was full. */
  mailboxOverflows: number;
  /** Local messages for an actor that does not exist (or has stopped). */
  unknownLocalActor: number;
  /** Remote sends dropped: no codec registered for the destination actor. */
  noCodec: number;
  /** Remote sends dropped: the encoded frame exceeded maxFrameBytes. */
  sendFrameTooLarge: number;
  /** Remote sends dropped: no endpoint attached. */
  noEndpoint: number;
  framesReceived: number;
  /** Received frames dropped, by reason. */
  framesTooLarge: number;
  framesMalformed: number;
  framesForeign: number;
  /** Frames whose claimed sender node differs from the endpoint that sent them (for authenticated frames: from the authenticated sender). */
  framesSpoofed: number;
  /** Actor frames (kind "a") that arrived unauthenticated: only members may reach actors, and their frames are sealed. */
  framesUnauthenticated: number;
  framesUnknownActor: number;
  framesNoCodec: number;
  /** Frames whose body the destination codec rejected. */
  framesInvalidBody: number;
  /** Channel frames received with no channel handler configured. */
  framesNoChannelHandler: number;
  channelFrames: number;
  actorFailures: number;
}

interface MailboxItem {
  readonly message: unknown;
  readonly from: Address | undefined;
}

interface ActorCell {
  readonly name: string;
  readonly address: Address;
  readonly behaviour: Behaviour<unknown>;
  readonly mailbox: BoundedQueue<MailboxItem>;
  readonly timers: Map<string, TimerHandle>;
  context: ActorContext<unknown> | undefined;
  ready: boolean;
  stopped: boolean;
}

function newStats(): ActorSystemStats {
  return {
    messagesHandled: 0,
    localSends: 0,
    remoteSends: 0,
    mailboxOverflows: 0,
    unknownLocalActor: 0,
    noCodec: 0,
    sendFrameTooLarge: 0,
    noEndpoint: 0,
    framesReceived: 0,
    framesTooLarge: 0,
    framesMalformed: 0,
    framesForeign: 0,
    framesSpoofed: 0,
    framesUnauthenticated: 0,
    framesUnknownActor: 0,
    framesNoCodec: 0,
    framesInvalidBody: 0,
    framesNoChannelHandler: 0,
    channelFrames: 0,
    actorFailures: 0,
  };
}

export class ActorSystem {
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly executor: Executor;
  private endpoint: NetworkEndpoint | undefined;
  private readonly codecs: CodecRegistry | undefined;
  private readonly frameOptions: FrameOptions;
  private readonly mailboxCapacity: number;
  private readonly maxTimersPerActor: number;
  private readonly messagesPerActorTurn: number;
  private readonly messagesPerDrain: number;
  private readonly onChannelFrame: ((from: EndpointId, payload: unknown) => void) | undefined;
  private readonly failurePolicy: "throw" | "stop-actor";

  private readonly cells = new Map<string, ActorCell>();
  private readonly readyCells: ActorCell[] = [];
  private readyHead = 0;
  private drainScheduled = false;
  private shutDown = false;
  private readonly counters = newStats();

  constructor(options: ActorSystemOptions) {
    invariant(options.nodeId.length > 0, "nodeId must not be empty");
    this.nodeId = options.nodeId;
    this.clock = options.clock;
    this.random = options.random;
    this.logger = options.logger.child({ node: options.nodeId });
    this.executor = options.executor;
    this.endpoint = options.endpoint;
    this.codecs = options.codecs;
    const frameOptions: { clusterTag?: string; maxFrameBytes: number } = { maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES };
    if (options.clusterTag !== undefined) frameOptions.clusterTag = options.clusterTag;
    this.frameOptions = frameOptions;
    this.mailboxCapacity = options.mailboxCapacity ?? 10_000;
    this.maxTimersPerActor = options.maxTimersPerActor ?? 1024;
    this.messagesPerActorTurn = options.messagesPerActorTurn ?? 64;
    this.messagesPerDrain = options.messagesPerDrain ?? 4096;
    this.onChannelFrame = options.onChannelFrame;
    this.failurePolicy = options.failurePolicy ?? "throw";
    invariant(this.messagesPerActorTurn > 0 && this.messagesPerDrain > 0, "turn budgets must be positive");
  }

  /** Attach the node's network endpoint (its frames go to `handleFrame`, through peer-auth's `openingFrameHandler` on a node). */
  attachEndpoint(endpoint: NetworkEndpoint): void {
    invariant(endpoint.id === this.nodeId, `endpoint id ${endpoint.id} differs from node id ${this.nodeId}`);
    this.endpoint = endpoint;
  }

  /** Start an actor. Throws ActorNameTaken if the name is in use on this node. */
  spawn<M>(name: string, behaviour: Behaviour<M>, options: { mailboxCapacity?: number } = {}): ActorRef<M> {
    invariant(!this.shutDown, "spawn after shutdown");
    invariant(name.length > 0, "actor name must not be empty");
    if (this.cells.has(name)) throw new ActorNameTaken(name);
    const address: Address = { node: this.nodeId, actor: name };
    const cell: ActorCell = {
      name,
      address,
      behaviour: behaviour as Behaviour<unknown>,
      mailbox: new BoundedQueue<MailboxItem>(options.mailboxCapacity ?? this.mailboxCapacity),
      timers: new Map(),
      context: undefined,
      ready: false,
      stopped: false,
    };
    cell.context = this.makeContext(cell);
    this.cells.set(name, cell);
    behaviour.started?.(cell.context as ActorContext<M>);
    return { address, tell: (message: M) => this.tell(address, message) };
  }

  /** Send from outside any actor. */
  tell<M>(to: Address | ActorRef<M>, message: M): boolean {
    return this.sendFrom(undefined, "address" in to ? to.address : to, message);
  }

  /** Stop a local actor by name. Returns false if there is none. */
  stop(name: string): boolean {
    const cell = this.cells.get(name);
    if (cell === undefined) return false;
    this.stopCell(cell);
    return true;
  }

  /** Whether a live actor with this name runs here. */
  has(name: string): boolean {
    return this.cells.has(name);
  }

  /** Stop every actor; later sends are dropped. */
  shutdown(): void {
    this.shutDown = true;
    for (const cell of [...this.cells.values()]) this.stopCell(cell);
  }

  stats(): ActorSystemStats {
    return { ...this.counters };
  }

  /**
   * The frame handler for this node's network endpoint. Never throws for bad
   * input. `authenticated`: the frame's MAC was verified and `from` is the
   * authenticated sender (peer-auth.ts); an unauthenticated frame may only be
   * channel traffic (kind "r"), an actor frame from it is dropped and counted.
   */
  readonly handleFrame = (from: EndpointId, bytes: Uint8Array, authenticated: boolean): void => {
    const stats = this.counters;
    stats.framesReceived++;
    const frame = decodeFrame(bytes, this.frameOptions);
    if (isFrameError(frame)) {
      if (frame._tag === "FrameTooLarge") stats.framesTooLarge++;
      else if (frame._tag === "ForeignFrame") stats.framesForeign++;
      else stats.framesMalformed++;
      this.logger.debug({ from, reason: frame._tag }, "dropped frame");
      return;
    }
    if (frame.k === "r") {
      if (this.onChannelFrame === undefined) {
        stats.framesNoChannelHandler++;
        return;
      }
      stats.channelFrames++;
      this.onChannelFrame(from, frame.payload);
      return;
    }
    if (!authenticated) {
      stats.framesUnauthenticated++;
      this.logger.debug({ from, actor: frame.toActor }, "dropped unauthenticated actor frame");
      return;
    }
    if (frame.from.node !== from) {
      stats.framesSpoofed++;
      this.logger.debug({ from, claimed: frame.from.node }, "dropped frame with spoofed sender");
      return;
    }
    const cell = this.cells.get(frame.toActor);
    if (cell === undefined || cell.stopped) {
      stats.framesUnknownActor++;
      return;
    }
    const codec = this.codecs?.get(frame.toActor);
    if (codec === undefined) {
      stats.framesNoCodec++;
      return;
    }
    let message: unknown;
    try {
      message = codec.decode(frame.body);
    } catch (error) {
      // A codec must not throw; if one does, the input is still just dropped.
      this.logger.error({ actor: frame.toActor, error: String(error) }, "codec threw while decoding");
      stats.framesInvalidBody++;
      return;
    }
    if (isDecodeFailure(message)) {
      stats.framesInvalidBody++;
      this.logger.debug({ from, actor: frame.toActor, reason: message.reason, path: message.path }, "dropped invalid message");
      return;
    }
    this.enqueue(cell, message, frame.from);
  };

  private sendFrom(from: Address | undefined, to: Address, message: unknown): boolean {
    if (this.shutDown) return false;
    if (to.node === this.nodeId) {
      this.counters.localSends++;
      const cell = this.cells.get(to.actor);
      if (cell === undefined || cell.stopped) {
        this.counters.unknownLocalActor++;
        this.logger.debug({ to: formatAddress(to) }, "dropped message for unknown local actor");
        return false;
      }
      return this.enqueue(cell, message, from);
    }
    return this.sendRemote(from ?? { node: this.nodeId, actor: "-" }, to, message);
  }

  private sendRemote(from: Address, to: Address, message: unknown): boolean {
    const codec = this.codecs?.get(to.actor);
    if (codec === undefined) {
      this.counters.noCodec++;
      this.logger.warn({ to: formatAddress(to) }, "no codec for remote actor: message dropped");
      return false;
    }
    if (this.endpoint === undefined) {
      this.counters.noEndpoint++;
      return false;
    }
    const bytes = encodeActorFrame(to.actor, from, codec.encode(message), this.frameOptions);
    if (bytes instanceof FrameTooLarge) {
      this.counters.sendFrameTooLarge++;
      this.logger.warn({ to: formatAddress(to), bytes: bytes.bytes, maxFrameBytes: bytes.maxFrameBytes }, "message too large: dropped");
      return false;
    }
    this.counters.remoteSends++;
    this.endpoint.send(to.node, bytes);
    return true;
  }

  private enqueue(cell: ActorCell, message: unknown, from: Address | undefined): boolean {
    if (!cell.mailbox.push({ message, from })) {
      const overflows = ++this.counters.mailboxOverflows;
      if (overflows === 1 || overflows % 1000 === 0) {
        this.logger.warn({ actor: cell.name, capacity: cell.mailbox.capacity, overflows }, "mailbox full: message dropped");
      }
      return false;
    }
    if (!cell.ready) {
      cell.ready = true;
      this.readyCells.push(cell);
    }
    this.scheduleDrain();
    return true;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.executor(this.drain);
  }

  private readonly drain = (): void => {
    let budget = this.messagesPerDrain;
    try {
      while (budget > 0 && this.readyHead < this.readyCells.length) {
        const cell = this.readyCells[this.readyHead]!;
        this.readyCells[this.readyHead] = undefined as unknown as ActorCell;
        this.readyHead++;
        cell.ready = false;
        let turn = Math.min(this.messagesPerActorTurn, budget);
        while (turn > 0 && !cell.stopped) {
          const item = cell.mailbox.shift();
          if (item === undefined) break;
          turn--;
          budget--;
          this.run(cell, item);
        }
        if (!cell.stopped && cell.mailbox.length > 0 && !cell.ready) {
          cell.ready = true;
          this.readyCells.push(cell);
        }
      }
    } finally {
      if (this.readyHead >= this.readyCells.length) {
        this.readyCells.length = 0;
        this.readyHead = 0;
      } else if (this.readyHead > 1024) {
        this.readyCells.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      this.drainScheduled = false;
      if (this.readyHead < this.readyCells.length) this.scheduleDrain();
    }
  };

  private run(cell: ActorCell, item: MailboxItem): void {
    this.counters.messagesHandled++;
    try {
      cell.behaviour.receive(cell.context!, item.message, item.from);
    } catch (error) {
      this.counters.actorFailures++;
      this.logger.fatal({ actor: cell.name, error: error instanceof Error ? error.message : String(error) }, "actor failed: stopped");
      this.stopCell(cell);
      if (this.failurePolicy === "throw") throw error;
    }
  }

  private stopCell(cell: ActorCell): void {
    if (cell.stopped) return;
    cell.stopped = true;
    for (const handle of cell.timers.values()) this.clock.clearTimer(handle);
    cell.timers.clear();
    cell.mailbox.clear();
    if (this.cells.get(cell.name) === cell) this.cells.delete(cell.name);
    try {
      cell.behaviour.stopped?.(cell.context!);
    } catch (error) {
      this.logger.error({ actor: cell.name, error: String(error) }, "stopped() hook threw");
    }
  }

  private makeContext(cell: ActorCell): ActorContext<unknown> {
    const random = this.random.fork(`actor:${cell.name}`);
    const logger = this.logger.child({ actor: cell.name });
    return {
      self: cell.address,
      random,
      logger,
      now: () => this.clock.now(),
      send: <N>(to: Address | ActorRef<N>, message: N): boolean => {
        if (cell.stopped) return false;
        return this.sendFrom(cell.address, "address" in to ? to.address : to, message);
      },
      setTimer: (name: string, delayMs: number, message: unknown): void => {
        if (cell.stopped) return;
        const existing = cell.timers.get(name);
        if (existing !== undefined) this.clock.clearTimer(existing);
        else if (cell.timers.size >= this.maxTimersPerActor) throw new TimerLimitExceeded(cell.name, this.maxTimersPerActor);
        const handle: TimerHandle = this.clock.setTimer(delayMs, () => {
          if (cell.timers.get(name) !== handle) return;
          cell.timers.delete(name);
          if (!cell.stopped) this.enqueue(cell, message, undefined);
        });
        cell.timers.set(name, handle);
      },
      cancelTimer: (name: string): void => {
        const handle = cell.timers.get(name);
        if (handle === undefined) return;
        this.clock.clearTimer(handle);
        cell.timers.delete(name);
      },
      stop: (): void => this.stopCell(cell),
    };
  }
}

