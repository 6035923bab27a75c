import { BoundedQueue } from "./bounded-queue.js";
import type { ChannelFrame } from "./channel-frame.js";
import { MAX_SACK_RANGES } from "./channel-frame.js";
import type { Clock, TimerHandle } from "./env.js";
import { ChannelClosed, ChannelFull, ChannelPeerSilent, ChannelReset, invariant } from "./errors.js";
import type { ChannelFailure } from "./errors.js";

/**
 * Ordered, deduplicated, retransmitting delivery over an unreliable frame
 * service (DESIGN.md §4). Embeddable: the host owns the transport, passes a
 * `send(frame)` function and feeds incoming frames to `receive(frame)`; a
 * node hosts one per client connection, keyed by (client endpoint, channel id).
 *
 * - Sequence numbers from 1; cumulative acks plus selective-ack ranges.
 * - Bounded send window (in flight) and send queue; `send` returns ChannelFull
 *   when both are full (backpressure) and `onWritable` fires when space frees.
 * - Bounded receive buffer for out-of-order frames; frames beyond it are
 *   dropped (the sender retransmits them).
 * - Retransmission timeout from smoothed RTT (Jacobson/Karels, Karn's rule),
 *   doubled per retransmission up to `maxRetransmitMs`.
 * - Acks are delayed up to `ackDelayMs` or sent after `ackEveryMessages`
 *   in-order frames; immediately on a gap or a duplicate.
 * - When idle the channel sends an ack frame every `heartbeatIntervalMs`; if
 *   nothing valid arrives for `peerSilentMs` it fails with ChannelPeerSilent.
 * - A reset frame from the peer fails it with ChannelReset.
 * A failed or closed channel sends nothing and accepts nothing.
 * The channel never throws for anything the peer sends.
 */

export interface ReliableChannelLimits {
  /** Send window: unacknowledged messages in flight (default 128). Must be <= the peer's maxReceiveBuffer. */
  readonly maxInFlight: number;
  /** Messages waiting for window space (default 1,024). */
  readonly maxQueued: number;
  /** Out-of-order messages buffered by the receiver (default 256). */
  readonly maxReceiveBuffer: number;
  /** Retransmission timeout before any RTT sample (default 200). */
  readonly initialRetransmitMs: number;
  /** Lower bound on the computed retransmission timeout (default 20). */
  readonly minRetransmitMs: number;
  /** Upper bound after backoff (default 5,000). */
  readonly maxRetransmitMs: number;
  /** Longest an in-order frame waits for its ack (default 5). */
  readonly ackDelayMs: number;
  /** Ack at once after this many unacknowledged in-order frames (default 16). */
  readonly ackEveryMessages: number;
  /** Send a keep-alive when nothing was sent for this long (default 1,000). */
  readonly heartbeatIntervalMs: number;
  /** Fail when nothing valid was received for this long (default 10,000). */
  readonly peerSilentMs: number;
}

export const DEFAULT_CHANNEL_LIMITS: ReliableChannelLimits = {
  maxInFlight: 128,
  maxQueued: 1024,
  maxReceiveBuffer: 256,
  initialRetransmitMs: 200,
  minRetransmitMs: 20,
  maxRetransmitMs: 5000,
  ackDelayMs: 5,
  ackEveryMessages: 16,
  heartbeatIntervalMs: 1000,
  peerSilentMs: 10_000,
};

export interface ReliableChannelOptions<M> {
  readonly clock: Clock;
  readonly channelId: string;
  readonly send: (frame: ChannelFrame<M>) => void;
  readonly onDeliver: (message: M) => void;
  readonly onFailure: (failure: ChannelFailure) => void;
  /** Called when `send` may succeed again after it returned ChannelFull. */
  readonly onWritable?: () => void;
  readonly limits?: Partial<ReliableChannelLimits>;
}

export interface ReliableChannelStats {
  messagesSent: number;
  retransmissions: number;
  messagesDelivered: number;
  duplicatesReceived: number;
  /** Data frames beyond the receive buffer, dropped. */
  beyondWindowDropped: number;
  acksSent: number;
  acksReceived: number;
  heartbeatsSent: number;
  /** Frames for another channel id, or acks for data never sent. */
  invalidFrames: number;
  inFlight: number;
  queued: number;
  bufferedOutOfOrder: number;
  retransmitTimeoutMs: number;
}

interface InFlight<M> {
  readonly seq: number;
  readonly message: M;
  firstSentAt: number;
  deadline: number;
  timeoutMs: number;
  transmissions: number;
}

export type ChannelState = "open" | "closed" | "failed";

export class ReliableChannel<M> {
  readonly channelId: string;
  readonly limits: ReliableChannelLimits;
  private readonly clock: Clock;
  private readonly transmit: (frame: ChannelFrame<M>) => void;
  private readonly onDeliver: (message: M) => void;
  private readonly onFailure: (failure: ChannelFailure) => void;
  private readonly onWritable: (() => void) | undefined;
  private readonly options: ReliableChannelOptions<M>;

  private currentState: ChannelState = "open";
  private failure: ChannelFailure | undefined;

  // Sender.
  private nextSeq = 1;
  /** Lowest unacknowledged seq; everything below is acknowledged. */
  private base = 1;
  private readonly inFlight = new Map<number, InFlight<M>>();
  private readonly queue: BoundedQueue<M>;
  private wasFull = false;
  private smoothedRttMs: number | undefined;
  private rttVarianceMs = 0;
  private retransmitTimeoutMs: number;

  // Receiver.
  /** Next seq to deliver. */
  private expected = 1;
  private readonly buffer = new Map<number, M>();
  private highestBuffered = 0;
  private unackedDeliveries = 0;
  private ackDueAt = Number.POSITIVE_INFINITY;

  // Liveness.
  private lastHeardAt: number;
  private lastSentAt: number;
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  private readonly counters = {
    messagesSent: 0,
    retransmissions: 0,
    messagesDelivered: 0,
    duplicatesReceived: 0,
    beyondWindowDropped: 0,
    acksSent: 0,
    acksReceived: 0,
    heartbeatsSent: 0,
    invalidFrames: 0,
  };

  constructor(options: ReliableChannelOptions<M>) {
    this.options = options;
    this.channelId = options.channelId;
    this.limits = { ...DEFAULT_CHANNEL_LIMITS, ...options.limits };
    const l = this.limits;
    invariant(options.channelId.length > 0, "channelId must not be empty");
    invariant(l.maxInFlight >= 1 && l.maxQueued >= 1 && l.maxReceiveBuffer >= 1, "channel bounds must be positive");
    invariant(l.maxInFlight <= l.maxReceiveBuffer, "maxInFlight must not exceed maxReceiveBuffer");
    invariant(l.minRetransmitMs > 0 && l.minRetransmitMs <= l.initialRetransmitMs && l.initialRetransmitMs <= l.maxRetransmitMs, "need 0 < minRetransmitMs <= initialRetransmitMs <= maxRetransmitMs");
    invariant(l.ackDelayMs >= 0 && l.ackEveryMessages >= 1, "ack settings out of range");
    invariant(l.heartbeatIntervalMs > 0 && l.peerSilentMs > l.heartbeatIntervalMs, "need 0 < heartbeatIntervalMs < peerSilentMs");
    this.clock = options.clock;
    this.transmit = options.send;
    this.onDeliver = options.onDeliver;
    this.onFailure = options.onFailure;
    this.onWritable = options.onWritable;
    this.queue = new BoundedQueue<M>(l.maxQueued);
    this.retransmitTimeoutMs = l.initialRetransmitMs;
    const now = this.clock.now();
    this.lastHeardAt = now;
    this.lastSentAt = now;
    this.arm(Math.min(now + l.heartbeatIntervalMs, now + l.peerSilentMs));
  }

  /**
   * Whether a frame for an unknown channel may open a new one on the
   * receiving host: data within the first receive window, or a keep-alive,
   * from a peer that has received nothing on it. Otherwise answer with
   * `ReliableChannel.resetFrame` so the peer fails fast instead of waiting.
   */
  static canOpen<M>(frame: ChannelFrame<M>, limits: Partial<ReliableChannelLimits> = {}): boolean {
    const maxReceiveBuffer = limits.maxReceiveBuffer ?? DEFAULT_CHANNEL_LIMITS.maxReceiveBuffer;
    if (frame.t === "d") return frame.a === 0 && frame.s <= maxReceiveBuffer;
    if (frame.t === "k") return frame.a === 0 && (frame.r === undefined || frame.r.length === 0);
    return false;
  }

  static resetFrame<M>(channelId: string): ChannelFrame<M> {
    return { t: "x", i: channelId };
  }

  get state(): ChannelState {
    return this.currentState;
  }

  /** Why the channel failed, if it did. */
  get failureReason(): ChannelFailure | undefined {
    return this.failure;
  }

  /** Messages `send` would accept now. */
  capacity(): number {
    if (this.currentState !== "open") return 0;
    return this.limits.maxInFlight - this.windowUsed() + this.limits.maxQueued - this.queue.length;
  }

  /** Queue a message for reliable in-order delivery. */
  send(message: M): true | ChannelFull | ChannelClosed {
    if (this.currentState !== "open") return new ChannelClosed(this.channelId, this.failure === undefined ? {} : { cause: this.failure });
    if (this.windowUsed() < this.limits.maxInFlight && this.queue.length === 0) {
      this.sendNew(message);
      return true;
    }
    if (!this.queue.push(message)) {
      this.wasFull = true;
      return new ChannelFull(this.channelId, this.limits.maxInFlight + this.limits.maxQueued);
    }
    return true;
  }

  /** Feed a frame from the peer (already decoded and validated by `channelFrameCodec`). Never throws for bad input. */
  receive(frame: ChannelFrame<M>): void {
    if (this.currentState !== "open") return;
    if (frame.i !== this.channelId) {
      this.counters.invalidFrames++;
      return;
    }
    if (frame.t === "x") {
      this.fail(new ChannelReset(this.channelId));
      return;
    }
    if (frame.a >= this.nextSeq) {
      // Acknowledges data never sent: not our peer's channel state. Ignore it whole.
      this.counters.invalidFrames++;
      return;
    }
    const now = this.clock.now();
    const silentMs = now - this.lastHeardAt;
    this.lastHeardAt = now;
    this.handleAck(frame.a, frame.t === "k" ? frame.r : undefined, now);
    // The peer is back after a silence (a healed partition): frames whose
    // timeout backed off while it was away go out again now instead of after
    // up to maxRetransmitMs, so a healed link resumes at the speed of its RTT.
    if (silentMs >= 2 * this.retransmitTimeoutMs) this.resumeBackedOff(now);
    if (frame.t === "k") {
      this.counters.acksReceived++;
    } else {
      this.handleData(frame.s, frame.b, now);
    }
    // Other deadlines only move later on receipt; an early wake-up re-arms itself.
    if (this.currentState === "open" && this.ackDueAt !== Number.POSITIVE_INFINITY) this.arm(this.ackDueAt);
  }

  private resumeBackedOff(now: number): void {
    let due = false;
    for (const entry of this.inFlight.values()) {
      if (entry.timeoutMs <= this.retransmitTimeoutMs) continue;
      entry.timeoutMs = this.retransmitTimeoutMs;
      entry.deadline = now;
      due = true;
    }
    if (due && this.currentState === "open") this.arm(now);
  }

  /** Stop without a failure callback; pending messages are abandoned. Idempotent. */
  close(): void {
    if (this.currentState !== "open") return;
    this.currentState = "closed";
    this.stopTimer();
  }

  /** Messages sent but not yet acknowledged, then queued ones, in order. */
  pending(): M[] {
    const out: M[] = [];
    for (let seq = this.base; seq < this.nextSeq; seq++) {
      const entry = this.inFlight.get(seq);
      if (entry !== undefined) out.push(entry.message);
    }
    const queued = this.queue.length;
    for (let i = 0; i < queued; i++) {
      const message = this.queue.shift()!;
      out.push(message);
      this.queue.push(message);
    }
    return out;
  }

  /**
   * Close this channel and open a fresh one (new id, sequence numbers from 1),
   * e.g. when a client fails over to another node. With `carryPending`, the
   * unacknowledged and queued messages are queued again on the new channel
   * (a message may then arrive twice overall: the session layer deduplicates).
   */
  reopen(next: { channelId: string; send?: (frame: ChannelFrame<M>) => void; carryPending?: boolean }): ReliableChannel<M> {
    invariant(next.channelId !== this.channelId, "reopen needs a new channel id");
    const carried = next.carryPending === true ? this.pending() : [];
    this.close();
    const channel = new ReliableChannel<M>({ ...this.options, channelId: next.channelId, send: next.send ?? this.transmit });
    for (const message of carried) {
      const result = channel.send(message);
      invariant(result === true, "carried messages exceed the new channel's capacity");
    }
    return channel;
  }

  stats(): ReliableChannelStats {
    return {
      ...this.counters,
      inFlight: this.inFlight.size,
      queued: this.queue.length,
      bufferedOutOfOrder: this.buffer.size,
      retransmitTimeoutMs: this.retransmitTimeoutMs,
    };
  }

  // -------------------------------------------------------------------------

  private windowUsed(): number {
    return this.nextSeq - this.base;
  }

  private sendNew(message: M): void {
    const now = this.clock.now();
    const seq = this.nextSeq++;
    const entry: InFlight<M> = { seq, message, firstSentAt: now, deadline: now + this.retransmitTimeoutMs, timeoutMs: this.retransmitTimeoutMs, transmissions: 1 };
    this.inFlight.set(seq, entry);
    this.counters.messagesSent++;
    this.sendData(entry, now);
    this.arm(entry.deadline);
  }

  private sendData(entry: InFlight<M>, now: number): void {
    const ack = this.expected - 1;
    // A data frame carries the cumulative ack; a pending ack is still needed for selective ranges.
    if (this.buffer.size === 0) {
      this.unackedDeliveries = 0;
      this.ackDueAt = Number.POSITIVE_INFINITY;
    }
    this.lastSentAt = now;
    this.transmit({ t: "d", i: this.channelId, s: entry.seq, a: ack, b: entry.message });
  }

  private handleAck(cumulative: number, ranges: readonly (readonly [number, number])[] | undefined, now: number): void {
    let progressed = false;
    while (this.base <= cumulative) {
      const entry = this.inFlight.get(this.base);
      if (entry !== undefined) {
        this.sampleRtt(entry, now);
        this.inFlight.delete(this.base);
      }
      this.base++;
      progressed = true;
    }
    if (ranges !== undefined) {
      for (const [from, to] of ranges.slice(0, MAX_SACK_RANGES)) {
        const start = Math.max(from, this.base);
        const end = Math.min(to, this.nextSeq - 1);
        for (let seq = start; seq <= end; seq++) {
          const entry = this.inFlight.get(seq);
          if (entry === undefined) continue;
          this.sampleRtt(entry, now);
          this.inFlight.delete(seq);
        }
      }
      while (this.base < this.nextSeq && !this.inFlight.has(this.base)) {
        this.base++;
        progressed = true;
      }
    }
    if (progressed) this.pump();
  }

  /** Karn's rule: only frames sent once give an RTT sample. */
  private sampleRtt(entry: InFlight<M>, now: number): void {
    if (entry.transmissions !== 1) return;
    const sample = now - entry.firstSentAt;
    if (this.smoothedRttMs === undefined) {
      this.smoothedRttMs = sample;
      this.rttVarianceMs = sample / 2;
    } else {
      this.rttVarianceMs = 0.75 * this.rttVarianceMs + 0.25 * Math.abs(this.smoothedRttMs - sample);
      this.smoothedRttMs = 0.875 * this.smoothedRttMs + 0.125 * sample;
    }
    const l = this.limits;
    this.retransmitTimeoutMs = Math.min(l.maxRetransmitMs, Math.max(l.minRetransmitMs, this.smoothedRttMs + 4 * this.rttVarianceMs + l.ackDelayMs));
  }

  private pump(): void {
    while (this.windowUsed() < this.limits.maxInFlight && this.queue.length > 0) {
      this.sendNew(this.queue.shift()!);
      if (this.currentState !== "open") return;
    }
    if (this.wasFull && this.capacity() > 0) {
      this.wasFull = false;
      this.onWritable?.();
    }
  }

  private handleData(seq: number, message: M, now: number): void {
    if (seq < this.expected || this.buffer.has(seq)) {
      this.counters.duplicatesReceived++;
      // Our earlier ack was probably lost: repeat it (coalesced with other acks due).
      this.ackSoon(now);
      return;
    }
    if (seq >= this.expected + this.limits.maxReceiveBuffer) {
      this.counters.beyondWindowDropped++;
      this.ackSoon(now);
      return;
    }
    if (seq !== this.expected) {
      this.buffer.set(seq, message);
      if (seq > this.highestBuffered) this.highestBuffered = seq;
      // A gap: the selective ack tells the sender what we hold.
      this.ackSoon(now);
      return;
    }
    this.deliver(message);
    while (this.currentState === "open") {
      const next = this.buffer.get(this.expected);
      if (next === undefined) break;
      this.buffer.delete(this.expected);
      this.deliver(next);
    }
    if (this.currentState !== "open") return;
    this.unackedDeliveries++;
    if (this.unackedDeliveries >= this.limits.ackEveryMessages) this.sendAck(now, false);
    else this.ackSoon(now);
  }

  /** Send an ack within ackDelayMs, coalescing everything received meanwhile. */
  private ackSoon(now: number): void {
    if (this.limits.ackDelayMs === 0) this.sendAck(now, false);
    else if (this.ackDueAt === Number.POSITIVE_INFINITY) this.ackDueAt = now + this.limits.ackDelayMs;
  }

  private deliver(message: M): void {
    this.expected++;
    this.counters.messagesDelivered++;
    this.onDeliver(message);
  }

  private sendAck(now: number, heartbeat: boolean): void {
    this.unackedDeliveries = 0;
    this.ackDueAt = Number.POSITIVE_INFINITY;
    this.lastSentAt = now;
    if (heartbeat) this.counters.heartbeatsSent++;
    else this.counters.acksSent++;
    const ranges = this.sackRanges();
    this.transmit(ranges === undefined ? { t: "k", i: this.channelId, a: this.expected - 1 } : { t: "k", i: this.channelId, a: this.expected - 1, r: ranges });
  }

  private sackRanges(): [number, number][] | undefined {
    if (this.buffer.size === 0) return undefined;
    // Buffered seqs lie in (expected, highestBuffered], a span bounded by maxReceiveBuffer.
    const ranges: [number, number][] = [];
    let open: [number, number] | undefined;
    for (let seq = this.expected + 1; seq <= this.highestBuffered; seq++) {
      if (!this.buffer.has(seq)) {
        open = undefined;
        continue;
      }
      if (open !== undefined) open[1] = seq;
      else {
        if (ranges.length === MAX_SACK_RANGES) break;
        open = [seq, seq];
        ranges.push(open);
      }
    }
    return ranges;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.currentState !== "open") return;
    const now = this.clock.now();
    const silentMs = now - this.lastHeardAt;
    if (silentMs >= this.limits.peerSilentMs) {
      this.fail(new ChannelPeerSilent(this.channelId, silentMs));
      return;
    }
    for (const entry of this.inFlight.values()) {
      if (entry.deadline > now) continue;
      entry.transmissions++;
      entry.timeoutMs = Math.min(this.limits.maxRetransmitMs, entry.timeoutMs * 2);
      entry.deadline = now + entry.timeoutMs;
      this.counters.retransmissions++;
      this.sendData(entry, now);
      if (this.currentState !== "open") return;
    }
    if (this.ackDueAt <= now) this.sendAck(now, false);
    else if (now - this.lastSentAt >= this.limits.heartbeatIntervalMs) this.sendAck(now, true);
    if (this.currentState === "open") this.arm(this.nextWake());
  };

  private nextWake(): number {
    let wake = Math.min(this.lastHeardAt + this.limits.peerSilentMs, this.lastSentAt + this.limits.heartbeatIntervalMs, this.ackDueAt);
    for (const entry of this.inFlight.values()) if (entry.deadline < wake) wake = entry.deadline;
    return wake;
  }

  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.stopTimer();
    this.timerAt = at;
    // Whole milliseconds, rounded up: the timer must never fire before `at`
    // (floating-point `now + (at - now)` can land a hair early and spin).
    this.timer = this.clock.setTimer(Math.max(1, Math.ceil(at - this.clock.now())), this.onTimer);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private fail(failure: ChannelFailure): void {
    if (this.currentState !== "open") return;
    this.currentState = "failed";
    this.failure = failure;
    this.stopTimer();
    this.onFailure(failure);
  }
}
