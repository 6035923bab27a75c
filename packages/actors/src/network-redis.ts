/**
 * Redis Streams as the production network (DESIGN.md §4): a best-effort
 * datagram service, not storage. Every endpoint owns one inbox stream
 * `corral:{<cluster>}:in:<endpointId>` (the hash tag keeps a cluster in one
 * slot). A dedicated connection per endpoint tails its inbox with
 * `XREAD BLOCK`; sends are coalesced and leave in ONE pipeline with ONE
 * `XADD <inbox> MAXLEN ~ N * f <from> m <frame> m <frame> ...` per
 * (destination, source) pair: per event-loop turn while earlier pipelines are
 * in flight, per synchronous run (microtask) when the link is idle.
 *
 * Redis down is the network down: sends are dropped and counted, readers wait
 * for the connection with jittered exponential backoff, nothing throws and
 * nothing blocks the caller. This file is a live adapter: it may use real
 * timers and wall time (eslint exempts it).
 */
import { Redis } from "ioredis";
import type { RedisOptions } from "ioredis";
import type { Logger, Random } from "./env.js";
import type { EndpointId, FrameHandler, Network, NetworkEndpoint, NetworkStats } from "./network.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./network.js";
import { SeededRandom } from "./random.js";
import { EndpointInUse } from "./errors.js";

// ---------------------------------------------------------------------------
// Errors

/** The network was configured with values out of range. Nothing was created. */
export class RedisNetworkConfigError extends Error {
  readonly _tag = "RedisNetworkConfigError";
  readonly code = "REDIS_NETWORK_CONFIG";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid RedisStreamsNetwork option ${field}: ${reason}`);
    this.name = "RedisNetworkConfigError";
  }
}

/** An endpoint id or cluster name that cannot be part of a stream key. */
export class InvalidEndpointId extends Error {
  readonly _tag = "InvalidEndpointId";
  readonly code = "INVALID_ENDPOINT_ID";
  constructor(readonly endpointId: string) {
    super(`invalid endpoint id ${JSON.stringify(endpointId)}: expected 1-128 of [A-Za-z0-9_.-]`);
    this.name = "InvalidEndpointId";
  }
}

/** `open()` was called after `close()`. */
export class NetworkClosed extends Error {
  readonly _tag = "NetworkClosed";
  readonly code = "NETWORK_CLOSED";
  constructor() {
    super("the network is closed");
    this.name = "NetworkClosed";
  }
}

// ---------------------------------------------------------------------------
// Options

export interface BackoffOptions {
  /** First retry delay. */
  readonly baseMs: number;
  /** Upper bound of any retry delay. */
  readonly maxMs: number;
  /** Jitter source; a seed derived from pid and time when absent, so processes do not retry in lockstep. */
  readonly random?: Random;
}

export interface RedisConnectionOptions {
  /** `redis://host:port/db`; combined with `redis` options when both are given. */
  readonly redisUrl?: string;
  /** ioredis options (host, port, password, tls ...). Retry and queueing options are overridden. */
  readonly redis?: RedisOptions;
  readonly logger?: Logger;
  readonly backoff?: Partial<BackoffOptions>;
}

export interface RedisStreamsNetworkOptions extends RedisConnectionOptions {
  /** Cluster name: part of every key, so clusters sharing one Redis never see each other's traffic. */
  readonly cluster: string;
  /** Frames larger than this are dropped and counted, at the sender and at the receiver. */
  readonly maxFrameBytes?: number;
  /** `XADD MAXLEN ~` bound of every inbox, in entries (an entry carries one turn's frames from one source). */
  readonly inboxMaxLen?: number;
  /** Frames queued or in flight per network; more are dropped and counted. */
  readonly sendQueueMaxFrames?: number;
  /** Bytes queued or in flight per network; more are dropped and counted. */
  readonly sendQueueMaxBytes?: number;
  /** Inbox keys expire this long after the last send to them, so abandoned client inboxes disappear. */
  readonly inboxTtlMs?: number;
  /** `XREAD BLOCK` duration; bounds how long a closed reader may linger on the server. */
  readonly readBlockMs?: number;
  /** `XREAD COUNT`: entries per read. */
  readonly readCount?: number;
  /** An XADD entry is cut after this many frames ... */
  readonly maxEntryFrames?: number;
  /** ... or after this many bytes (a single larger frame still travels alone). */
  readonly maxEntryBytes?: number;
  /** Redis commands that take longer fail (and their frames count as dropped). */
  readonly commandTimeoutMs?: number;
  /** How long `open()` waits for Redis before returning an endpoint that connects in the background. */
  readonly openWaitMs?: number;
}

interface ResolvedOptions {
  readonly cluster: string;
  readonly maxFrameBytes: number;
  readonly inboxMaxLen: number;
  readonly sendQueueMaxFrames: number;
  readonly sendQueueMaxBytes: number;
  readonly inboxTtlMs: number;
  readonly readBlockMs: number;
  readonly readCount: number;
  readonly maxEntryFrames: number;
  readonly maxEntryBytes: number;
  readonly commandTimeoutMs: number;
  readonly openWaitMs: number;
}

export const REDIS_NETWORK_DEFAULTS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  inboxMaxLen: 1024,
  sendQueueMaxFrames: 100_000,
  sendQueueMaxBytes: 64 * 1024 * 1024,
  inboxTtlMs: 10 * 60 * 1000,
  readBlockMs: 1000,
  readCount: 64,
  maxEntryFrames: 1024,
  maxEntryBytes: 256 * 1024,
  commandTimeoutMs: 10_000,
  openWaitMs: 3000,
  backoffBaseMs: 50,
  backoffMaxMs: 2000,
} as const;

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

export function isValidEndpointId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** The inbox stream of an endpoint. */
export function inboxKey(cluster: string, endpointId: EndpointId): string {
  return `corral:{${cluster}}:in:${endpointId}`;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    throw new RedisNetworkConfigError(field, `must be a positive integer, got ${String(resolved)}`);
  }
  return resolved;
}

function resolveOptions(options: RedisStreamsNetworkOptions): ResolvedOptions {
  if (!isValidEndpointId(options.cluster)) throw new RedisNetworkConfigError("cluster", "expected 1-128 of [A-Za-z0-9_.-]");
  const d = REDIS_NETWORK_DEFAULTS;
  const resolved: ResolvedOptions = {
    cluster: options.cluster,
    maxFrameBytes: positiveInteger("maxFrameBytes", options.maxFrameBytes, d.maxFrameBytes),
    inboxMaxLen: positiveInteger("inboxMaxLen", options.inboxMaxLen, d.inboxMaxLen),
    sendQueueMaxFrames: positiveInteger("sendQueueMaxFrames", options.sendQueueMaxFrames, d.sendQueueMaxFrames),
    sendQueueMaxBytes: positiveInteger("sendQueueMaxBytes", options.sendQueueMaxBytes, d.sendQueueMaxBytes),
    inboxTtlMs: positiveInteger("inboxTtlMs", options.inboxTtlMs, d.inboxTtlMs),
    readBlockMs: positiveInteger("readBlockMs", options.readBlockMs, d.readBlockMs),
    readCount: positiveInteger("readCount", options.readCount, d.readCount),
    maxEntryFrames: positiveInteger("maxEntryFrames", options.maxEntryFrames, d.maxEntryFrames),
    maxEntryBytes: positiveInteger("maxEntryBytes", options.maxEntryBytes, d.maxEntryBytes),
    commandTimeoutMs: positiveInteger("commandTimeoutMs", options.commandTimeoutMs, d.commandTimeoutMs),
    openWaitMs: positiveInteger("openWaitMs", options.openWaitMs, d.openWaitMs),
  };
  return resolved;
}

// ---------------------------------------------------------------------------
// Connections

const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
  child: () => silentLogger,
};

/** Equal-jitter exponential backoff: half fixed, half random, capped at maxMs. */
export function backoffDelayMs(attempt: number, backoff: BackoffOptions & { readonly random: Random }): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + backoff.random.next() * (ceiling / 2));
}

function resolveBackoff(backoff: Partial<BackoffOptions> | undefined): BackoffOptions & { readonly random: Random } {
  const baseMs = positiveInteger("backoff.baseMs", backoff?.baseMs, REDIS_NETWORK_DEFAULTS.backoffBaseMs);
  const maxMs = positiveInteger("backoff.maxMs", backoff?.maxMs, REDIS_NETWORK_DEFAULTS.backoffMaxMs);
  if (maxMs < baseMs) throw new RedisNetworkConfigError("backoff.maxMs", "must be >= backoff.baseMs");
  const random = backoff?.random ?? new SeededRandom(((process.pid * 2654435761) ^ Date.now()) >>> 0);
  return { baseMs, maxMs, random };
}

/**
 * One ioredis connection configured as a network link: no offline queue (a
 * command while disconnected fails at once), pending commands fail on
 * disconnect instead of being re-sent, reconnect forever with jittered
 * backoff, and every 'error' event handled (logged on state changes only).
 */
export function createLinkConnection(
  options: RedisConnectionOptions,
  role: string,
  extra: { readonly commandTimeoutMs?: number } = {},
): Redis {
  const logger = (options.logger ?? silentLogger).child({ redisRole: role });
  const backoff = resolveBackoff(options.backoff);
  const redisOptions: RedisOptions = {
    ...options.redis,
    lazyConnect: false,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    // 0: a command pending when the connection drops is rejected immediately.
    maxRetriesPerRequest: 0,
    enableReadyCheck: true,
    retryStrategy: (attempt: number) => backoffDelayMs(attempt, backoff),
    reconnectOnError: () => false,
    connectionName: `corral-${role}`,
  };
  if (extra.commandTimeoutMs !== undefined) redisOptions.commandTimeout = extra.commandTimeoutMs;
  const connection = options.redisUrl === undefined ? new Redis(redisOptions) : new Redis(options.redisUrl, redisOptions);
  let healthy = true;
  connection.on("error", (error: unknown) => {
    // ioredis emits one error per failed reconnect attempt; log the transition only.
    if (healthy) {
      healthy = false;
      logger.warn({ err: describeError(error) }, "redis connection failed; retrying with backoff");
    }
  });
  connection.on("ready", () => {
    if (!healthy) logger.info({}, "redis connection restored");
    healthy = true;
  });
  return connection;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Registers a callback for "stop waiting"; returns its unregistration. */
type CancelSource = (onCancel: () => void) => () => void;

/** Resolve when `connection` is ready, when `cancel` fires, or after `waitMs`; never rejects. */
function waitUntilReady(connection: Redis, waitMs: number, cancel?: CancelSource): Promise<boolean> {
  if (connection.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onReady = (): void => finish(true);
    const onEnd = (): void => finish(false);
    const finish = (ready: boolean): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      unregister?.();
      connection.off("ready", onReady);
      connection.off("end", onEnd);
      resolve(ready);
    };
    connection.on("ready", onReady);
    connection.on("end", onEnd);
    if (Number.isFinite(waitMs)) timer = setTimeout(() => finish(connection.status === "ready"), waitMs);
    const unregister = cancel?.(() => finish(false));
  });
}

/** Compare two stream ids `ms-seq`. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = "0", aSeq = "0"] = a.split("-");
  const [bMs = "0", bSeq = "0"] = b.split("-");
  const ms = BigInt(aMs) - BigInt(bMs);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(aSeq) - BigInt(bSeq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

async function closeConnection(connection: Redis): Promise<void> {
  // A function, not a property read, so TypeScript does not narrow a status that changes under our feet.
  const status = (): string => connection.status;
  if (status() === "end") return;
  if (status() === "ready") {
    // QUIT lets already written pipelines finish; fall back to a hard disconnect.
    await Promise.race([connection.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  if (status() === "end") return;
  const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
  connection.disconnect();
  // Between reconnect attempts there is no socket: disconnect() only cancels the retry and no 'end' follows.
  if (status() === "reconnecting" || status() === "end" || status() === "wait") return;
  await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
}

// ---------------------------------------------------------------------------
// Stream tail: the dedicated blocking reader

export type StreamEntryHandler = (id: string, fields: readonly Buffer[]) => void;

export interface StreamTailOptions extends RedisConnectionOptions {
  readonly key: string;
  readonly readBlockMs: number;
  readonly readCount: number;
  readonly onEntry: StreamEntryHandler;
  /** "latest": only entries added after the tail started (default); "beginning": everything still in the stream. */
  readonly startFrom?: "latest" | "beginning";
  readonly commandTimeoutMs?: number;
  /** Counts reads that failed (connection lost, wrong key type ...). */
  readonly onReadError?: (error: unknown) => void;
}

/**
 * Tails one stream on its own connection: `XREAD COUNT n BLOCK ms STREAMS key
 * lastId` in a loop. The start position is fixed once (the stream's last id,
 * so no entry added after `started` resolves is missed, unlike re-issuing
 * `$`). After any failure it re-positions: if the stream is gone or its last
 * id is behind ours (Redis restarted, key expired or deleted), the stream was
 * recreated and everything in it is new, so reading resumes from 0-0.
 */
export class StreamTail {
  private readonly connection: Redis;
  private readonly logger: Logger;
  private readonly backoff: BackoffOptions & { readonly random: Random };
  private lastId: string | undefined;
  private closing = false;
  private readonly closeWaiters = new Set<() => void>();
  private readonly onClose: CancelSource = (fn) => {
    this.closeWaiters.add(fn);
    return () => this.closeWaiters.delete(fn);
  };
  private readonly loop: Promise<void>;
  private resolveStarted!: () => void;
  /** Resolves once the read position is fixed (or never if Redis stays down; see `waitStarted`). */
  readonly started: Promise<void>;
  private readErrorCount = 0;

  constructor(private readonly options: StreamTailOptions) {
    this.logger = (options.logger ?? silentLogger).child({ stream: options.key });
    this.backoff = resolveBackoff(options.backoff);
    const timeout = options.commandTimeoutMs ?? REDIS_NETWORK_DEFAULTS.commandTimeoutMs;
    this.connection = createLinkConnection(options, `reader:${options.key}`, { commandTimeoutMs: options.readBlockMs + timeout });
    this.started = new Promise<void>((resolve) => (this.resolveStarted = resolve));
    this.loop = this.run();
  }

  readErrors(): number {
    return this.readErrorCount;
  }

  /** Wait for the start position at most `waitMs`; true when it is fixed. */
  async waitStarted(waitMs: number): Promise<boolean> {
    if (this.closing) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unregister: (() => void) | undefined;
    const stopped = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
      unregister = this.onClose(() => resolve(false));
    });
    const result = await Promise.race([this.started.then(() => true), stopped]);
    clearTimeout(timer);
    unregister?.();
    return result;
  }

  private async position(): Promise<void> {
    const newest = (await this.connection.xrevrange(this.options.key, "+", "-", "COUNT", 1)) as [string, string[]][];
    const newestId = newest[0]?.[0];
    if (this.lastId === undefined) {
      this.lastId = this.options.startFrom === "beginning" ? "0-0" : (newestId ?? "0-0");
      this.resolveStarted();
    } else if (newestId === undefined || compareStreamIds(newestId, this.lastId) < 0) {
      if (newestId !== undefined) this.logger.info({ lastId: this.lastId, newestId }, "inbox stream was recreated; reading it from the start");
      this.lastId = "0-0";
    }
  }

  private async run(): Promise<void> {
    let needsPosition = true;
    let failures = 0;
    while (!this.closing) {
      try {
        if (needsPosition) {
          const ready = await waitUntilReady(this.connection, Number.POSITIVE_INFINITY, this.onClose);
          if (!ready) {
            if (this.closing) break;
            continue;
          }
          await this.position();
          needsPosition = false;
        }
        const reply = await this.connection.callBuffer("XREAD", [
          "COUNT",
          this.options.readCount,
          "BLOCK",
          this.options.readBlockMs,
          "STREAMS",
          this.options.key,
          this.lastId ?? "$",
        ]);
        if (failures > 0) this.logger.info({ failures }, "stream reads resumed");
        failures = 0;
        if (this.deliver(reply) > 0) {
          // Let the receivers' turn (scheduled with setImmediate by the deliveries) run before the next read:
          // what arrives meanwhile is fetched by one XREAD instead of one each, and a syscall is saved per
          // read on a busy link. An idle link is unaffected: nothing arrives during the turn.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        if (this.closing) break;
        needsPosition = true;
        failures += 1;
        this.readErrorCount += 1;
        this.options.onReadError?.(error);
        if (failures === 1) this.logger.warn({ err: describeError(error) }, "stream read failed; will re-position and retry");
        await this.sleep(backoffDelayMs(failures, this.backoff));
      }
    }
  }

  /** Hands the reply's entries to the handler; returns how many there were. */
  private deliver(reply: unknown): number {
    if (reply === null || !Array.isArray(reply)) return 0;
    let delivered = 0;
    for (const stream of reply) {
      if (!Array.isArray(stream) || !Array.isArray(stream[1])) continue;
      for (const entry of stream[1] as unknown[]) {
        if (!Array.isArray(entry)) continue;
        const [rawId, rawFields] = entry as [unknown, unknown];
        if (!Buffer.isBuffer(rawId)) continue;
        const id = rawId.toString("latin1");
        this.lastId = id;
        const fields = Array.isArray(rawFields) && rawFields.every((f) => Buffer.isBuffer(f)) ? (rawFields as Buffer[]) : [];
        delivered++;
        try {
          this.options.onEntry(id, fields);
        } catch (error) {
          // A handler must not throw; keep the link alive and make the bug loud.
          this.logger.error({ err: describeError(error) }, "stream entry handler threw");
        }
      }
    }
    return delivered;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const unregister = this.onClose(() => {
        clearTimeout(timer);
        resolve();
      });
      const timer = setTimeout(() => {
        unregister();
        resolve();
      }, ms);
    });
  }

  /** Stop reading and close the connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      for (const wake of [...this.closeWaiters]) wake();
      this.closeWaiters.clear();
      // Disconnecting rejects the pending XREAD, which ends the loop.
      this.connection.disconnect();
    }
    await this.loop;
    await closeConnection(this.connection);
  }
}

// ---------------------------------------------------------------------------
// The network

/** Stats of one endpoint, with the reasons frames were dropped. */
export interface RedisEndpointStats extends NetworkStats {
  /** Frames larger than maxFrameBytes (sent or received). */
  droppedOversized: number;
  /** Inbox entries not in the `f <from> m <frame>...` shape. */
  droppedMalformed: number;
  /** Sends refused because the queued + in-flight bound was hit. */
  droppedQueueFull: number;
  /** Frames lost because Redis was down or the XADD failed. */
  droppedRedisDown: number;
  /** Sends to an id that cannot be an endpoint. */
  droppedInvalidDestination: number;
  /** Failed inbox reads (each followed by a re-position and retry). */
  readErrors: number;
}

function emptyStats(): RedisEndpointStats {
  return {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    framesDropped: 0,
    droppedOversized: 0,
    droppedMalformed: 0,
    droppedQueueFull: 0,
    droppedRedisDown: 0,
    droppedInvalidDestination: 0,
    readErrors: 0,
  };
}

type DropReason = "droppedOversized" | "droppedMalformed" | "droppedQueueFull" | "droppedRedisDown" | "droppedInvalidDestination";

/** Frames waiting for this turn's flush, per (destination, source). */
interface OutboundGroup {
  readonly key: string;
  readonly to: EndpointId;
  readonly from: RedisEndpoint;
  frames: Buffer[];
  bytes: number;
}

const FIELD_FROM = 0x66; // "f"
const FIELD_MESSAGE = 0x6d; // "m"

export class RedisEndpoint implements NetworkEndpoint {
  /** @internal */ readonly counters: RedisEndpointStats = emptyStats();
  private readonly tail: StreamTail;
  private closed = false;

  /** @internal use RedisStreamsNetwork.open */
  constructor(
    readonly id: EndpointId,
    private readonly network: RedisStreamsNetwork,
    private readonly onFrame: FrameHandler,
    options: RedisStreamsNetworkOptions,
    resolved: ResolvedOptions,
  ) {
    this.tail = new StreamTail({
      ...options,
      key: inboxKey(resolved.cluster, id),
      readBlockMs: resolved.readBlockMs,
      readCount: resolved.readCount,
      commandTimeoutMs: resolved.commandTimeoutMs,
      onEntry: (_id, fields) => this.receiveEntry(fields, resolved.maxFrameBytes),
      onReadError: () => (this.counters.readErrors += 1),
    });
  }

  /** @internal */
  waitStarted(waitMs: number): Promise<boolean> {
    return this.tail.waitStarted(waitMs);
  }

  send(to: EndpointId, frame: Uint8Array): void {
    if (this.closed) return this.drop("droppedRedisDown", 1);
    this.network.enqueue(this, to, frame);
  }

  stats(): RedisEndpointStats {
    return { ...this.counters };
  }

  /** Frames this network has queued or in flight (all endpoints); lets a sender pace itself. */
  pendingFrames(): number {
    return this.network.pendingFrames();
  }

  /** @internal */
  drop(reason: DropReason, frames: number): void {
    this.counters[reason] += frames;
    this.counters.framesDropped += frames;
  }

  private receiveEntry(fields: readonly Buffer[], maxFrameBytes: number): void {
    const fromKey = fields[0];
    const fromValue = fields[1];
    const valid =
      fields.length >= 4 &&
      fields.length % 2 === 0 &&
      fromKey !== undefined &&
      fromKey.length === 1 &&
      fromKey[0] === FIELD_FROM &&
      fromValue !== undefined &&
      fromValue.length <= 128 &&
      checkMessageFields(fields);
    const from = valid ? fromValue.toString("latin1") : "";
    if (!valid || !isValidEndpointId(from)) {
      this.drop("droppedMalformed", 1);
      return;
    }
    for (let i = 3; i < fields.length; i += 2) {
      const frame = fields[i] as Buffer;
      if (frame.length > maxFrameBytes) {
        this.drop("droppedOversized", 1);
        continue;
      }
      this.counters.framesReceived += 1;
      this.counters.bytesReceived += frame.length;
      if (this.closed) continue;
      this.onFrame(from, frame);
    }
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.network.forget(this);
    }
    await this.tail.close();
  }
}

function checkMessageFields(fields: readonly Buffer[]): boolean {
  for (let i = 2; i < fields.length; i += 2) {
    const name = fields[i];
    if (name === undefined || name.length !== 1 || name[0] !== FIELD_MESSAGE) return false;
  }
  return true;
}

function toBuffer(frame: Uint8Array): Buffer {
  return Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * The production network. One writer connection per network (shared by its
 * endpoints) plus one reader connection per open endpoint.
 */
export class RedisStreamsNetwork implements Network {
  private readonly resolved: ResolvedOptions;
  private readonly logger: Logger;
  private readonly writer: Redis;
  private readonly endpoints = new Map<EndpointId, RedisEndpoint>();
  private outbound = new Map<string, OutboundGroup>();
  private flushScheduled = false;
  private queuedFrames = 0;
  private queuedBytes = 0;
  private inFlightFrames = 0;
  private inFlightBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Destination key -> wall ms of its last PEXPIRE; pruned as entries age out. */
  private readonly ttlRefreshedAt = new Map<string, number>();
  private closed = false;
  private flushCount = 0;

  constructor(private readonly options: RedisStreamsNetworkOptions) {
    this.resolved = resolveOptions(options);
    this.logger = (options.logger ?? silentLogger).child({ component: "redis-network", cluster: options.cluster });
    this.writer = createLinkConnection({ ...options, logger: this.logger }, "writer", { commandTimeoutMs: this.resolved.commandTimeoutMs });
  }

  /**
   * Open an endpoint. Resolves once its inbox reader has fixed its start
   * position (so frames sent to it afterwards are read) or after `openWaitMs`
   * if Redis is unreachable; the endpoint then connects in the background.
   */
  async open(id: EndpointId, onFrame: FrameHandler): Promise<RedisEndpoint> {
    if (this.closed) throw new NetworkClosed();
    if (!isValidEndpointId(id)) throw new InvalidEndpointId(id);
    if (this.endpoints.has(id)) throw new EndpointInUse(id); // the same failure as InMemoryNetwork
    const endpoint = new RedisEndpoint(id, this, onFrame, { ...this.options, logger: this.logger.child({ endpoint: id }) }, this.resolved);
    this.endpoints.set(id, endpoint);
    await Promise.all([endpoint.waitStarted(this.resolved.openWaitMs), waitUntilReady(this.writer, this.resolved.openWaitMs)]);
    return endpoint;
  }

  /** Frames queued or in flight. */
  pendingFrames(): number {
    return this.queuedFrames + this.inFlightFrames;
  }

  /** @internal */
  forget(endpoint: RedisEndpoint): void {
    if (this.endpoints.get(endpoint.id) === endpoint) this.endpoints.delete(endpoint.id);
  }

  /** @internal Queue one frame; never throws, never blocks. */
  enqueue(from: RedisEndpoint, to: EndpointId, frame: Uint8Array): void {
    const size = frame.byteLength;
    if (size > this.resolved.maxFrameBytes) return from.drop("droppedOversized", 1);
    if (!isValidEndpointId(to)) return from.drop("droppedInvalidDestination", 1);
    if (this.closed) return from.drop("droppedRedisDown", 1);
    if (
      this.queuedFrames + this.inFlightFrames + 1 > this.resolved.sendQueueMaxFrames ||
      this.queuedBytes + this.inFlightBytes + size > this.resolved.sendQueueMaxBytes
    ) {
      return from.drop("droppedQueueFull", 1);
    }
    const groupKey = `${to}\u0000${from.id}`;
    let group = this.outbound.get(groupKey);
    if (group === undefined) {
      group = { key: inboxKey(this.resolved.cluster, to), to, from, frames: [], bytes: 0 };
      this.outbound.set(groupKey, group);
    }
    group.frames.push(toBuffer(frame));
    group.bytes += size;
    this.queuedFrames += 1;
    this.queuedBytes += size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Idle link: flush at the end of this synchronous run (a microtask), so a lone message pays no extra
      // event-loop hop. Busy link (pipelines in flight): flush in setImmediate, after this turn's I/O
      // callbacks, so everything sent in the turn joins one pipeline (Nagle-like, without a timer).
      if (this.inFlight.size === 0) queueMicrotask(() => this.flush());
      else setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const groups = this.outbound;
    if (groups.size === 0) return;
    this.outbound = new Map();
    const frames = this.queuedFrames;
    const bytes = this.queuedBytes;
    this.queuedFrames = 0;
    this.queuedBytes = 0;
    if (this.writer.status !== "ready") {
      for (const group of groups.values()) group.from.drop("droppedRedisDown", group.frames.length);
      return;
    }
    const now = Date.now();
    /** One Redis command per XADD entry (with its group, frames and bytes) or per PEXPIRE (no group). */
    const calls: { name: "XADD" | "PEXPIRE"; args: (string | Buffer | number)[]; group?: OutboundGroup; frames: number; bytes: number }[] = [];
    for (const group of groups.values()) {
      let start = 0;
      while (start < group.frames.length) {
        const args: (string | Buffer | number)[] = [group.key, "MAXLEN", "~", this.resolved.inboxMaxLen, "*", "f", group.from.id];
        let entryBytes = 0;
        let end = start;
        while (end < group.frames.length && end - start < this.resolved.maxEntryFrames) {
          const frame = group.frames[end] as Buffer;
          if (end > start && entryBytes + frame.length > this.resolved.maxEntryBytes) break;
          args.push("m", frame);
          entryBytes += frame.length;
          end += 1;
        }
        calls.push({ name: "XADD", args, group, frames: end - start, bytes: entryBytes });
        start = end;
      }
      const refreshedAt = this.ttlRefreshedAt.get(group.key);
      if (refreshedAt === undefined || now - refreshedAt >= this.resolved.inboxTtlMs / 4) {
        this.ttlRefreshedAt.set(group.key, now);
        calls.push({ name: "PEXPIRE", args: [group.key, this.resolved.inboxTtlMs], frames: 0, bytes: 0 });
      }
    }
    this.flushCount += 1;
    if (this.flushCount % 1024 === 0) this.pruneTtlRefreshes(now);
    this.inFlightFrames += frames;
    this.inFlightBytes += bytes;
    let results: Promise<readonly (readonly [Error | null, unknown])[] | null>;
    const only = calls.length === 1 ? calls[0] : undefined;
    if (only !== undefined) {
      // The common latency-bound case (one destination, one entry): a plain command skips the pipeline machinery.
      results = this.writer.callBuffer(only.name, only.args).then(
        (reply) => [[null, reply]] as const,
        (error: unknown) => [[error instanceof Error ? error : new Error(String(error)), null]] as const,
      );
    } else {
      const pipeline = this.writer.pipeline();
      for (const call of calls) pipeline.callBuffer(call.name, call.args);
      results = pipeline.exec();
    }
    const done = results
      .then(
        (replies) => {
          calls.forEach((call, index) => {
            if (call.group === undefined) return;
            const error = replies?.[index]?.[0];
            if (replies === null || error) {
              call.group.from.drop("droppedRedisDown", call.frames);
            } else {
              call.group.from.counters.framesSent += call.frames;
              call.group.from.counters.bytesSent += call.bytes;
            }
          });
        },
        (error: unknown) => {
          this.logger.debug({ err: describeError(error) }, "pipeline failed; its frames are dropped");
          for (const call of calls) call.group?.from.drop("droppedRedisDown", call.frames);
        },
      )
      .finally(() => {
        this.inFlightFrames -= frames;
        this.inFlightBytes -= bytes;
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  private pruneTtlRefreshes(now: number): void {
    for (const [key, at] of this.ttlRefreshedAt) {
      if (now - at >= this.resolved.inboxTtlMs) this.ttlRefreshedAt.delete(key);
    }
  }

  /** Flush what is queued, wait for in-flight pipelines, close every endpoint and connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.outbound.size > 0) this.flush();
    }
    await Promise.all([...this.endpoints.values()].map((endpoint) => endpoint.close()));
    await Promise.allSettled([...this.inFlight]);
    await closeConnection(this.writer);
  }
}
