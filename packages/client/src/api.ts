/**
 * The public shape of a Corral client (DESIGN.md §8). The implementation is
 * `CorralClient` in client.ts; recipes and the CLI program against this
 * interface, so they can be tested against any implementation.
 */
import type {
  ACL,
  AddWatchMode,
  CorralError,
  CreateMode,
  EventType,
  MultiOpResult,
  Stat,
  WatcherType,
} from "@corral/protocol";

export type ConnectionState = "connecting" | "connected" | "disconnected" | "expired" | "closed";

export interface StateChange {
  readonly state: ConnectionState;
  /** The node the client is connected to (when connected). */
  readonly nodeId?: string;
  readonly sessionId?: number;
  /**
   * On a "connected" after a reconnect: some persistent or
   * persistent-recursive watch events since the last zxid this client saw may
   * be missing (the node's change history did not reach back that far). What
   * the node could still see was delivered; deletions may not have been.
   * Re-read whatever you derive from those watches. Absent when nothing was lost.
   */
  readonly watchGap?: true;
}

export interface WatchedEvent {
  readonly type: EventType;
  readonly path: string;
  /** zxid of the change that fired it. */
  readonly zxid: number;
}

export type Watcher = (event: WatchedEvent) => void;

export interface CreateOptions {
  /** Default: Persistent. */
  readonly mode?: CreateMode;
  /** Default: OPEN_ACL_UNSAFE. */
  readonly acl?: readonly ACL[];
  /** Required for the TTL modes. */
  readonly ttlMs?: number;
}

export interface CreateResponse {
  /** The actual path (with the sequence suffix for sequential modes). */
  readonly path: string;
  readonly stat: Stat;
}

export interface ReadOptions {
  /** Confirm through the leader (ReadIndex) before answering. */
  readonly linearizable?: boolean;
}

export interface WatchOptions extends ReadOptions {
  /** A one-shot watcher called once with the next event for this path. */
  readonly watch?: Watcher;
}

/** Typed per-op results of a committed multi. */
export type MultiResult = readonly MultiOpResult[];

export interface MultiBuilder {
  check(path: string, version: number): MultiBuilder;
  create(path: string, data?: Uint8Array | string, options?: CreateOptions): MultiBuilder;
  delete(path: string, version?: number): MultiBuilder;
  setData(path: string, data: Uint8Array | string, version?: number): MultiBuilder;
  /** Commit all-or-nothing. Rejects with the failing op's typed error (with `opIndex`) if any op fails. */
  commit(): Promise<MultiResult>;
}

/** A subscription to events; `for await` it, or call `close()`. */
export interface EventStream<T> extends AsyncIterable<T> {
  close(): void;
}

export interface Client {
  readonly sessionId: number | null;
  readonly state: ConnectionState;

  create(path: string, data?: Uint8Array | string, options?: CreateOptions): Promise<CreateResponse>;
  getData(path: string, options?: WatchOptions): Promise<{ data: Uint8Array; stat: Stat }>;
  /** Returns null if the node does not exist (an exists watch then fires on creation). */
  exists(path: string, options?: WatchOptions): Promise<Stat | null>;
  getChildren(path: string, options?: WatchOptions): Promise<{ children: string[]; stat: Stat }>;
  getAllChildrenNumber(path: string): Promise<number>;
  getEphemerals(prefix?: string): Promise<string[]>;
  /** version -1 (default) = any. */
  setData(path: string, data: Uint8Array | string, version?: number): Promise<Stat>;
  delete(path: string, version?: number): Promise<void>;
  multi(): MultiBuilder;
  sync(path?: string): Promise<void>;
  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }>;
  setACL(path: string, acl: readonly ACL[], version?: number): Promise<Stat>;
  addAuth(scheme: "digest", credentials: string): Promise<void>;

  /** Persistent (or persistent-recursive) watch; survives reconnects until removed. */
  addWatch(path: string, mode: AddWatchMode, watcher: Watcher): Promise<void>;
  /** The same as an async stream of events. */
  watchStream(path: string, mode: AddWatchMode): Promise<EventStream<WatchedEvent>>;
  removeWatches(path: string, type: WatcherType, watcher?: Watcher): Promise<void>;

  /** Connection state changes. */
  on(event: "state", listener: (change: StateChange) => void): () => void;
  states(): EventStream<StateChange>;

  /** Close the session (ephemerals are deleted) and the connection. */
  close(): Promise<void>;
}

export type { CorralError };
