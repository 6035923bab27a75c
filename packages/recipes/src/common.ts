/**
 * Shared plumbing of the recipes: the injected environment, deadlines that
 * honour a timeout and an AbortSignal on the injected Clock, the session
 * source that hands out a new client after a session expires, and small znode
 * helpers (ensure a path, parse sequence suffixes, tell an unknown outcome).
 */
import type { Clock, Logger, Random, TimerHandle } from "@corral/actors";
import type { Client, StateChange } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { InvalidRecipeArgument, RecipeAborted, RecipeClosed, RecipeTimeout, RetriesExhausted } from "./errors.js";
import { liveRecipeEnv } from "./env-live.js";

/** What a recipe may observe that is not deterministic: time and randomness come from here. */
export interface RecipeEnv {
  readonly clock: Clock;
  /** For guids, jittered backoff and load-balancing choices. */
  readonly random: Random;
  readonly logger?: Logger;
}

/** Every wait takes these: no timeout means wait until done, aborted or closed. */
export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Largest timeout accepted (about 24 days, the safe timer range). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A deadline on the injected clock plus an optional AbortSignal and close signal. */
export class Deadline {
  private readonly endsAt: number | undefined;
  constructor(
    private readonly clock: Clock,
    readonly what: string,
    private readonly options: WaitOptions = {},
    private readonly closed: () => boolean = () => false,
  ) {
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMEOUT_MS)) {
      throw new InvalidRecipeArgument("timeoutMs", `must be 0..${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}`);
    }
    this.endsAt = timeoutMs === undefined ? undefined : clock.now() + timeoutMs;
  }

  /** Milliseconds left, or undefined for no deadline. */
  remainingMs(): number | undefined {
    return this.endsAt === undefined ? undefined : Math.max(0, this.endsAt - this.clock.now());
  }

  /** The error to fail with if the wait must end now, else undefined. */
  failure(): Error | undefined {
    if (this.options.signal?.aborted === true) return new RecipeAborted(this.what, { cause: this.options.signal.reason });
    if (this.closed()) return new RecipeClosed(this.what);
    const remaining = this.remainingMs();
    if (remaining !== undefined && remaining <= 0) return new RecipeTimeout(this.what, this.options.timeoutMs ?? 0);
    return undefined;
  }

  check(): void {
    const failure = this.failure();
    if (failure !== undefined) throw failure;
  }

  /**
   * Wait until `arm`'s wake callback is called, or fail with the deadline /
   * abort. `arm` may return a disarm function (called however the wait ends).
   * `extraWake` lets the caller wake the wait from outside (state changes).
   */
  sleep(arm: (wake: () => void) => (() => void) | void): Promise<void> {
    this.check();
    return new Promise<void>((resolve, reject) => {
      let done = false;
      let timer: TimerHandle | undefined;
      let disarm: (() => void) | void = undefined;
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        if (timer !== undefined) this.clock.clearTimer(timer);
        this.options.signal?.removeEventListener("abort", onAbort);
        if (typeof disarm === "function") disarm();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(new RecipeAborted(this.what, { cause: this.options.signal?.reason }));
      this.options.signal?.addEventListener("abort", onAbort, { once: true });
      const remaining = this.remainingMs();
      if (remaining !== undefined) timer = this.clock.setTimer(remaining, () => finish(new RecipeTimeout(this.what, this.options.timeoutMs ?? 0)));
      disarm = arm(() => finish());
      if (done && typeof disarm === "function") disarm();
    });
  }

  /** Sleep `delayMs` (capped by the deadline, which then fails the wait). */
  delay(delayMs: number): Promise<void> {
    return this.sleep((wake) => {
      const timer = this.clock.setTimer(delayMs, wake);
      return () => this.clock.clearTimer(timer);
    });
  }
}

/** A typed listener set. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();
  constructor(private readonly logger?: Logger) {}
  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }
  emit(value: T): void {
    for (const listener of [...this.set]) {
      try {
        listener(value);
      } catch (error) {
        // A listener's bug must not break the recipe's own bookkeeping.
        this.logger?.error({ error }, "recipe listener threw");
      }
    }
  }
  get size(): number {
    return this.set.size;
  }
  clear(): void {
    this.set.clear();
  }
}

/**
 * Where a recipe gets its client. A Corral client is one session: once it
 * expires it stays expired. Recipes that must survive expiry (caches,
 * registrations, latches) take a SessionSource and rebuild on each new client.
 */
export interface SessionSource {
  current(): Client;
  /** Called with each client that replaces an expired one. */
  onNewClient(listener: (client: Client) => void): () => void;
}

function isSessionSource(value: Client | SessionSource): value is SessionSource {
  return typeof (value as Partial<SessionSource>).onNewClient === "function" && typeof (value as Partial<SessionSource>).current === "function";
}

/** A fixed client (no replacement after expiry), or the given source. */
export function sessionSource(value: Client | SessionSource): SessionSource {
  if (isSessionSource(value)) return value;
  return { current: () => value, onNewClient: () => () => undefined };
}

export interface ManagedSessionsOptions {
  /** Attempts to open a replacement client before giving up (default 20). */
  readonly maxReconnectAttempts?: number;
  /** Backoff cap between attempts (default 5,000; the first waits up to 100). */
  readonly backoffMaxMs?: number;
}

/**
 * Opens a new client through `factory` whenever the current one expires, and
 * tells the recipes. `state` is the lifecycle for diagnostics.
 */
export class ManagedSessions implements SessionSource {
  private client: Client;
  private readonly listeners = new Listeners<Client>();
  private readonly failures = new Listeners<Error>();
  private unsubscribe: () => void = () => undefined;
  private closed = false;
  private replacing = false;
  private readonly maxAttempts: number;
  private readonly backoffMaxMs: number;

  private constructor(
    first: Client,
    private readonly factory: () => Promise<Client>,
    private readonly env: RecipeEnv,
    options: ManagedSessionsOptions,
  ) {
    this.client = first;
    this.maxAttempts = options.maxReconnectAttempts ?? 20;
    this.backoffMaxMs = options.backoffMaxMs ?? 5_000;
    this.watch(first);
  }

  static async start(factory: () => Promise<Client>, env: RecipeEnv = liveRecipeEnv(), options: ManagedSessionsOptions = {}): Promise<ManagedSessions> {
    return new ManagedSessions(await factory(), factory, env, options);
  }

  current(): Client {
    return this.client;
  }

  onNewClient(listener: (client: Client) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Called when no replacement could be opened within the attempts. */
  onFailure(listener: (error: Error) => void): () => void {
    return this.failures.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await this.client.close();
  }

  private watch(client: Client): void {
    this.unsubscribe = client.on("state", (change: StateChange) => {
      if (change.state === "expired") void this.replace();
    });
  }

  private async replace(): Promise<void> {
    if (this.replacing || this.closed) return;
    this.replacing = true;
    this.unsubscribe();
    const deadline = new Deadline(this.env.clock, "open a new session", {}, () => this.closed);
    let lastError: unknown;
    try {
      for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
        if (this.closed) return;
        try {
          const next = await this.factory();
          if (this.closed) {
            await next.close();
            return;
          }
          this.client = next;
          this.watch(next);
          this.listeners.emit(next);
          return;
        } catch (error) {
          lastError = error;
          const capMs = Math.min(this.backoffMaxMs, 100 * 2 ** attempt);
          await deadline.delay(this.env.random.int(capMs + 1));
        }
      }
      this.failures.emit(new RetriesExhausted("open a new session", this.maxAttempts, { cause: lastError }));
    } catch (error) {
      if (!(error instanceof RecipeClosed)) this.failures.emit(error instanceof Error ? error : new RetriesExhausted("open a new session", 0, { cause: error }));
    } finally {
      this.replacing = false;
    }
  }
}

// ------------------------------------------------------------- znode helpers --

/** The error's `_tag`, if it has one. */
export function tagOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const tag = (error as { _tag?: unknown })._tag;
  return typeof tag === "string" ? tag : undefined;
}

/** A write failed in a way that leaves its outcome unknown (it may have applied). */
export function isUnknownOutcome(error: unknown): boolean {
  const tag = tagOf(error);
  return tag === "ConnectionLoss" || tag === "OperationTimeout" || tag === "RequestTimeout";
}

export function isSessionGone(error: unknown): boolean {
  const tag = tagOf(error);
  return tag === "SessionExpired" || tag === "ClientClosed";
}

export function validateRecipePath(name: string, path: string): void {
  if (typeof path !== "string" || !path.startsWith("/") || (path.length > 1 && path.endsWith("/")) || path.includes("//") || path.length > 1024) {
    throw new InvalidRecipeArgument(name, `must be an absolute znode path, got ${JSON.stringify(path)}`);
  }
}

/** A single path segment: no slash, not empty, not "." or "..". */
export function validateSegment(name: string, segment: string): void {
  if (typeof segment !== "string" || segment.length === 0 || segment.length > 255 || segment.includes("/") || segment === "." || segment === ".." || segment.includes("\u0000")) {
    throw new InvalidRecipeArgument(name, `must be a non-empty znode name without "/", got ${JSON.stringify(segment)}`);
  }
}

export function joinPath(parent: string, child: string): string {
  return parent === "/" ? `/${child}` : `${parent}/${child}`;
}

export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Create `path` and its missing ancestors as persistent nodes (NodeExists is fine). */
export async function ensurePath(client: Client, path: string, maxAttempts = 5): Promise<void> {
  if (path === "/") return;
  for (let attempt = 1; ; attempt++) {
    try {
      if ((await client.exists(path)) !== null) return;
      break;
    } catch (error) {
      if (!isUnknownOutcome(error) || attempt >= maxAttempts) throw error;
    }
  }
  const segments = path.split("/").filter((s) => s.length > 0);
  let current = "";
  for (const segment of segments) {
    current += `/${segment}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.create(current, new Uint8Array(0), { mode: CreateMode.Persistent });
        break;
      } catch (error) {
        const tag = tagOf(error);
        if (tag === "NodeExists") break;
        // A lost reply: the create may have applied; the next attempt sees NodeExists.
        if (!isUnknownOutcome(error) || attempt >= maxAttempts) throw error;
      }
    }
  }
}

/** Delete, retrying unknown outcomes until definite; NoNode counts as deleted. */
export async function deleteDefinitely(client: Client, path: string, maxAttempts = 10, version = -1): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.delete(path, version);
      return;
    } catch (error) {
      if (tagOf(error) === "NoNode") return;
      if (!isUnknownOutcome(error)) throw error;
      if (attempt >= maxAttempts) throw new RetriesExhausted(`delete ${path}`, attempt, { cause: error });
    }
  }
}

/** Best-effort delete (cleanup paths): failures are logged, not thrown. */
export async function deleteQuietly(client: Client, path: string, logger?: Logger): Promise<void> {
  try {
    await deleteDefinitely(client, path, 3);
  } catch (error) {
    logger?.warn({ path, error }, "cleanup delete failed");
  }
}

/** The 10-digit sequence suffix of a sequential node name, or -1. */
export function sequenceOf(name: string): number {
  const match = /(\d{10})$/.exec(name);
  return match === null ? -1 : Number(match[1]);
}

/** Names with a sequence suffix, sorted by it. */
export function sortBySequence(names: readonly string[]): string[] {
  return names.filter((n) => sequenceOf(n) >= 0).sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const GUID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A per-attempt id from the injected Random (protected-mode create names). */
export function makeGuid(random: Random, length = 16): string {
  let out = "";
  for (let i = 0; i < length; i++) out += GUID_ALPHABET[random.int(GUID_ALPHABET.length)];
  return out;
}

/** Subscribe to the client's state; returns the unsubscribe. */
export function onState(client: Client, listener: (change: StateChange) => void): () => void {
  return client.on("state", listener);
}

export const textEncoder = new TextEncoder();
export const textDecoder = new TextDecoder();

export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? textEncoder.encode(data) : data;
}
