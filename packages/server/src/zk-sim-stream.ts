/**
 * The client port's simulated twin: an in-memory, ordered byte stream between
 * a client and a node (CorralNode.acceptClientStream), on an injected Clock.
 * Deterministic: each direction is a FIFO of chunks delivered after a fixed
 * latency by one timer at a time, so one seed replays a whole run. A
 * connection can break abruptly (`disconnect`: in-flight bytes lost, both
 * sides told), close gracefully from the node (what it wrote arrives first),
 * and the client can stop reading (`pauseReading`) so the node's output
 * budget fills up exactly as a stalled TCP peer's would.
 */
import type { Clock, TimerHandle } from "@corral/actors";
import { ClientStreamRefused, type ClientStreamHandle, type ClientStreamTransport } from "./zk-streams.js";

export interface SimStreamOptions {
  /** One-way latency of every chunk (default 1 ms). */
  readonly latencyMs?: number;
  /** The client's address, as the node sees it (default "sim-client"). */
  readonly remote?: string;
}

/** What accepts a stream: a CorralNode. */
export interface SimStreamAcceptor {
  acceptClientStream(transport: ClientStreamTransport): ClientStreamHandle | ClientStreamRefused;
}

/** One direction: chunks in order, delivered after the latency, one timer at a time. */
class Pipe {
  private readonly queue: { readonly bytes: Uint8Array; readonly dueAt: number }[] = [];
  private timer: TimerHandle | undefined;
  /** Bytes queued and not yet delivered. */
  queuedBytes = 0;
  paused = false;
  private closeAfterDrain = false;

  constructor(
    private readonly clock: Clock,
    private readonly latencyMs: number,
    private readonly deliver: (bytes: Uint8Array) => void,
    private readonly onDrainedClose: () => void,
  ) {}

  push(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.queue.push({ bytes: bytes.slice(), dueAt: this.clock.now() + this.latencyMs });
    this.queuedBytes += bytes.byteLength;
    this.schedule();
  }

  /** Deliver what is queued, then report the close. */
  closeWhenDrained(): void {
    this.closeAfterDrain = true;
    this.schedule();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.schedule();
  }

  /** Drop everything (an abrupt disconnect). */
  drop(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.closeAfterDrain = false;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.paused) return;
    const head = this.queue[0];
    if (head === undefined) {
      if (this.closeAfterDrain) {
        this.closeAfterDrain = false;
        this.onDrainedClose();
      }
      return;
    }
    this.timer = this.clock.setTimer(Math.max(0, head.dueAt - this.clock.now()), () => {
      this.timer = undefined;
      if (this.paused) return;
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.bytes.byteLength;
        this.deliver(chunk.bytes);
      }
      this.schedule();
    });
  }
}

/** The client's end of a simulated stream. */
export class SimClientStream {
  private readonly toNode: Pipe;
  private readonly toClient: Pipe;
  private handle: ClientStreamHandle | undefined;
  private nodeHandle: ClientStreamHandle | undefined;
  private dataListener: (bytes: Uint8Array) => void = () => undefined;
  private closeListener: () => void = () => undefined;
  private open = true;
  /** Set when the node refused the stream (too many connections, node stopped). */
  readonly refused: ClientStreamRefused | undefined;

  constructor(clock: Clock, acceptor: SimStreamAcceptor, options: SimStreamOptions = {}) {
    const latencyMs = options.latencyMs ?? 1;
    this.toNode = new Pipe(clock, latencyMs, (bytes) => this.handle?.receive(bytes), () => this.detachNode());
    this.toClient = new Pipe(clock, latencyMs, (bytes) => this.dataListener(bytes), () => this.closedByNode());
    const transport: ClientStreamTransport = {
      remote: options.remote ?? "sim-client",
      write: (bytes) => {
        if (this.open) this.toClient.push(bytes);
      },
      bufferedOutputBytes: () => this.toClient.queuedBytes,
      // The node closes after what it wrote: the client reads it all, then sees the close.
      close: () => this.toClient.closeWhenDrained(),
      setReading: (reading) => this.toNode.setPaused(!reading),
    };
    const accepted = acceptor.acceptClientStream(transport);
    if (accepted instanceof ClientStreamRefused) {
      this.refused = accepted;
      this.open = false;
    } else {
      this.refused = undefined;
      this.handle = accepted;
      this.nodeHandle = accepted;
    }
  }

  get isOpen(): boolean {
    return this.open;
  }
  /** The node's handle of this stream (tests look at its adapter's close reason); kept after the close. */
  get node(): ClientStreamHandle | undefined {
    return this.nodeHandle;
  }
  /** Bytes the node wrote that the client has not taken yet (paused, or in flight). */
  get unreadBytes(): number {
    return this.toClient.queuedBytes;
  }

  onData(listener: (bytes: Uint8Array) => void): void {
    this.dataListener = listener;
  }
  onClose(listener: () => void): void {
    this.closeListener = listener;
  }

  write(bytes: Uint8Array): void {
    if (this.open) this.toNode.push(bytes);
  }

  /** Stop taking bytes from the node (a stalled reader): they pile up in the node's output budget. */
  pauseReading(): void {
    this.toClient.setPaused(true);
  }
  resumeReading(): void {
    this.toClient.setPaused(false);
  }

  /** The client closes its end: what it sent still reaches the node, which then sees the close. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.toClient.drop();
    this.toNode.closeWhenDrained();
  }

  /** An abrupt break (cable cut): bytes in flight are lost both ways; both sides learn at once. */
  disconnect(): void {
    this.toNode.drop();
    this.toClient.drop();
    this.detachNode();
    if (!this.open) return;
    this.open = false;
    this.closeListener();
  }

  private detachNode(): void {
    const handle = this.handle;
    this.handle = undefined;
    handle?.closed();
  }

  private closedByNode(): void {
    this.detachNode();
    if (!this.open) return;
    this.open = false;
    this.closeListener();
  }
}
