/**
 * The node's side of every byte-stream client connection (the ZooKeeper
 * client port, live or simulated): one ZkConnection adapter per stream, the
 * bound on streams per node, and the connect / idle timeouts on the node's
 * injected Clock (so the simulation drives them on simulated time).
 *
 * A transport hands the host its bytes and learns through the returned
 * handle's `receive` / `closed`; the host answers through the transport's
 * `write` / `close`. The sessions actor reaches a stream through `deliver` /
 * `closeFromNode` (its `streamOut` / `streamClose` options).
 */
import type { Clock, TimerHandle } from "@corral/actors";
import type { SessionsMessage, StreamNodeMessage } from "./sessions-actor.js";
import { ZkConnection, defaultZkConnectionLimits, type ZkCloseReason, type ZkConnectionLimits } from "./zk-connection.js";

/** One client byte stream as the node sees it (a TCP socket, or the simulated twin). */
export interface ClientStreamTransport {
  /** The peer's address (IP, no port): failed session attaches are bounded per address. */
  readonly remote: string;
  write(bytes: Uint8Array): void;
  /** Bytes written and not yet taken by the peer (a socket's writableLength). */
  bufferedOutputBytes(): number;
  /** Close after what was written. The host calls it at most once. */
  close(): void;
  /** Flow control: stop (false) / resume (true) reading. Optional. */
  setReading?(reading: boolean): void;
}

export interface ClientStreamHandle {
  readonly stream: number;
  readonly connection: ZkConnection;
  /** Bytes from the peer. */
  receive(bytes: Uint8Array): void;
  /** The peer closed, or the transport broke. */
  closed(): void;
}

/** `accept` refused the stream: the node already holds `limit` of them. The transport was closed. */
export class ClientStreamRefused {
  readonly _tag = "ClientStreamRefused";
  readonly code = "TOO_MANY_CLIENT_CONNECTIONS";
  constructor(readonly limit: number) {}
}

export interface ZkStreamLimits extends ZkConnectionLimits {
  /** Streams this node holds at once; one more is closed at once (ClientStreamRefused). */
  readonly maxStreams: number;
  /** A stream that has not sent its ConnectRequest (or been answered) within this is closed. */
  readonly connectTimeoutMs: number;
  /**
   * After connect: close a stream that sends nothing for this long. 0: the
   * negotiated session timeout (a ZooKeeper client pings at a third of it).
   */
  readonly idleTimeoutMs: number;
}

export const defaultZkStreamLimits: ZkStreamLimits = Object.freeze({
  ...defaultZkConnectionLimits,
  maxStreams: 4_096,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 0,
});

export interface ZkStreamHostOptions {
  readonly clock: Clock;
  readonly limits?: Partial<ZkStreamLimits>;
  /** Into the sessions actor's mailbox; false when it refused the message. */
  readonly tellSessions: (message: SessionsMessage) => boolean;
  readonly fourLetterWord?: (word: string) => string;
  /** Told once per stream when it closes, with why (counters, logs). */
  readonly onClose?: (stream: number, reason: ZkCloseReason) => void;
}

interface Entry {
  readonly transport: ClientStreamTransport;
  readonly connection: ZkConnection;
  lastInputAt: number;
  timer: TimerHandle | undefined;
  transportClosed: boolean;
}

export class ZkStreamHost {
  readonly limits: ZkStreamLimits;
  private readonly entries = new Map<number, Entry>();
  private nextStream = 1;

  constructor(private readonly options: ZkStreamHostOptions) {
    this.limits = { ...defaultZkStreamLimits, ...options.limits };
    for (const field of ["maxStreams", "connectTimeoutMs", "maxOutstandingRequests", "pauseAtOutstanding", "maxBufferedOutputBytes", "maxPacketBytes"] as const) {
      const value = this.limits[field];
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`ZkStreamLimits.${field}: expected an integer >= 1, got ${value}`);
    }
  }

  get streams(): number {
    return this.entries.size;
  }

  accept(transport: ClientStreamTransport): ClientStreamHandle | ClientStreamRefused {
    if (this.entries.size >= this.limits.maxStreams) {
      transport.close();
      return new ClientStreamRefused(this.limits.maxStreams);
    }
    const stream = this.nextStream++;
    // eslint-disable-next-line prefer-const -- the adapter's io closes over the entry, made right after it
    let entry: Entry;
    const connection = new ZkConnection(
      {
        toSessions: (message) => this.options.tellSessions({ type: "streamMessage", stream, message }),
        write: (bytes) => {
          if (!entry.transportClosed) transport.write(bytes);
        },
        bufferedOutputBytes: () => transport.bufferedOutputBytes(),
        close: (reason) => this.finish(stream, reason),
        setReading: (reading) => transport.setReading?.(reading),
        ...(this.options.fourLetterWord === undefined ? {} : { fourLetterWord: this.options.fourLetterWord }),
      },
      this.limits,
    );
    entry = { transport, connection, lastInputAt: this.options.clock.now(), timer: undefined, transportClosed: false };
    this.entries.set(stream, entry);
    if (!this.options.tellSessions({ type: "streamOpened", stream, remote: transport.remote })) {
      connection.closeFromNode("node busy");
    } else {
      this.arm(stream, entry);
    }
    return {
      stream,
      connection,
      receive: (bytes) => {
        const current = this.entries.get(stream);
        if (current === undefined) return;
        current.lastInputAt = this.options.clock.now();
        current.connection.receive(bytes);
      },
      closed: () => {
        const current = this.entries.get(stream);
        if (current === undefined) return;
        current.transportClosed = true;
        current.connection.transportClosed();
        this.finish(stream, { code: "ClientClosed" });
      },
    };
  }

  /** A message for a stream from the sessions actor. */
  deliver(stream: number, message: StreamNodeMessage): void {
    this.entries.get(stream)?.connection.deliver(message);
  }

  /** The sessions actor is done with a stream. */
  closeFromNode(stream: number, reason: string): void {
    this.entries.get(stream)?.connection.closeFromNode(reason);
  }

  closeAll(reason: string): void {
    for (const stream of [...this.entries.keys()]) this.closeFromNode(stream, reason);
  }

  private finish(stream: number, reason: ZkCloseReason): void {
    const entry = this.entries.get(stream);
    if (entry === undefined) return;
    this.entries.delete(stream);
    if (entry.timer !== undefined) this.options.clock.clearTimer(entry.timer);
    if (!entry.transportClosed) {
      entry.transportClosed = true;
      entry.transport.close();
    }
    this.options.tellSessions({ type: "streamClosed", stream });
    this.options.onClose?.(stream, reason);
  }

  /** One timer per stream: the connect timeout, then the idle timeout, re-armed from the last input. */
  private arm(stream: number, entry: Entry): void {
    const delayMs = Math.max(1, entry.lastInputAt + this.timeoutOf(entry) - this.options.clock.now());
    entry.timer = this.options.clock.setTimer(delayMs, () => {
      entry.timer = undefined;
      if (this.entries.get(stream) !== entry) return;
      const now = this.options.clock.now();
      const limit = this.timeoutOf(entry);
      if (now - entry.lastInputAt >= limit) {
        entry.connection.closeFromNode(entry.connection.connected ? `idle for ${limit} ms` : `no connect within ${limit} ms`);
        return;
      }
      this.arm(stream, entry);
    });
  }

  private timeoutOf(entry: Entry): number {
    if (!entry.connection.connected) return this.limits.connectTimeoutMs;
    return this.limits.idleTimeoutMs > 0 ? this.limits.idleTimeoutMs : Math.max(1, entry.connection.timeoutMs);
  }
}
