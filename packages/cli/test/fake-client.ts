/**
 * An in-memory fake of the Client interface, enough for the shell's tests:
 * a znode map with ZooKeeper's versions and errors, sequential names, ACL
 * storage, one-shot and persistent watches fired synchronously on change.
 */
import {
  AddWatchMode,
  BadArgumentsError,
  BadVersionError,
  CreateMode,
  EventType,
  NoNodeError,
  NodeExistsError,
  NotEmptyError,
  OPEN_ACL_UNSAFE,
  formatSequence,
  isSequentialMode,
  parentPath,
  type ACL,
  type Stat,
} from "@corral/protocol";
import type { Client, ConnectionState, CreateOptions, EventStream, MultiBuilder, StateChange, WatchedEvent, Watcher, WatchOptions } from "@corral/client";

interface FakeNode {
  data: Uint8Array;
  stat: Stat;
  acl: ACL[];
  children: Set<string>;
  sequence: number;
}

const encoder = new TextEncoder();
const bytes = (data: Uint8Array | string | undefined): Uint8Array => (data === undefined ? new Uint8Array() : typeof data === "string" ? encoder.encode(data) : data);

export class FakeClient implements Client {
  readonly sessionId: number | null = 0x1234;
  state: ConnectionState = "connected";
  readonly auth: string[] = [];
  /** Every call, for tests that check what the shell sent. */
  readonly calls: string[] = [];
  private zxid = 0;
  private readonly nodes = new Map<string, FakeNode>();
  private readonly dataWatches = new Map<string, Watcher[]>();
  private readonly childWatches = new Map<string, Watcher[]>();
  private readonly persistent: { path: string; mode: AddWatchMode; watcher: Watcher }[] = [];

  constructor() {
    this.nodes.set("/", { data: new Uint8Array(), stat: this.newStat(0, 0), acl: [...OPEN_ACL_UNSAFE], children: new Set(), sequence: 0 });
  }

  private newStat(zxid: number, dataLength: number): Stat {
    return { czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: 1_700_000_000_000, mtime: 1_700_000_000_000, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength, numChildren: 0 };
  }

  private get(path: string): FakeNode {
    const node = this.nodes.get(path);
    if (node === undefined) throw new NoNodeError(path);
    return node;
  }

  private fire(path: string, type: EventType, zxid: number): void {
    const event: WatchedEvent = { type, path, zxid };
    const oneShot = type === EventType.NodeChildrenChanged ? this.childWatches : this.dataWatches;
    const watchers = oneShot.get(path) ?? [];
    oneShot.delete(path);
    for (const watcher of watchers) watcher(event);
    for (const watch of this.persistent) {
      const matches = watch.path === path || (watch.mode === AddWatchMode.PersistentRecursive && path.startsWith(watch.path === "/" ? "/" : `${watch.path}/`));
      if (matches && !(watch.mode === AddWatchMode.PersistentRecursive && type === EventType.NodeChildrenChanged)) watch.watcher(event);
    }
  }

  create(path: string, data?: Uint8Array | string, options: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    this.calls.push(`create ${path} mode=${options.mode ?? 0}${options.ttlMs === undefined ? "" : ` ttl=${options.ttlMs}`}${options.acl === undefined ? "" : " acl"}`);
    try {
      const parent = this.get(parentPath(path));
      const mode = options.mode ?? CreateMode.Persistent;
      const actual = isSequentialMode(mode) ? `${path}${formatSequence(parent.sequence++)}` : path;
      if (this.nodes.has(actual)) throw new NodeExistsError(actual);
      const zxid = ++this.zxid;
      const payload = bytes(data);
      const stat = { ...this.newStat(zxid, payload.length), ephemeralOwner: mode === CreateMode.Ephemeral || mode === CreateMode.EphemeralSequential ? (this.sessionId ?? 0) : 0 };
      this.nodes.set(actual, { data: payload, stat, acl: [...(options.acl ?? OPEN_ACL_UNSAFE)], children: new Set(), sequence: 0 });
      parent.children.add(actual.slice(actual.lastIndexOf("/") + 1));
      parent.stat = { ...parent.stat, numChildren: parent.children.size, cversion: parent.stat.cversion + 1, pzxid: zxid };
      this.fire(actual, EventType.NodeCreated, zxid);
      this.fire(parentPath(actual), EventType.NodeChildrenChanged, zxid);
      return Promise.resolve({ path: actual, stat });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  getData(path: string, options: WatchOptions = {}): Promise<{ data: Uint8Array; stat: Stat }> {
    try {
      const node = this.get(path);
      if (options.watch !== undefined) this.dataWatches.set(path, [...(this.dataWatches.get(path) ?? []), options.watch]);
      return Promise.resolve({ data: node.data, stat: node.stat });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  exists(path: string): Promise<Stat | null> {
    return Promise.resolve(this.nodes.get(path)?.stat ?? null);
  }

  getChildren(path: string): Promise<{ children: string[]; stat: Stat }> {
    try {
      const node = this.get(path);
      return Promise.resolve({ children: [...node.children], stat: node.stat });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  getAllChildrenNumber(path: string): Promise<number> {
    return Promise.resolve([...this.nodes.keys()].filter((each) => each.startsWith(`${path}/`)).length);
  }

  getEphemerals(): Promise<string[]> {
    return Promise.resolve([...this.nodes].filter(([, node]) => node.stat.ephemeralOwner !== 0).map(([path]) => path));
  }

  setData(path: string, data: Uint8Array | string, version = -1): Promise<Stat> {
    this.calls.push(`setData ${path} v=${version}`);
    try {
      const node = this.get(path);
      if (version !== -1 && version !== node.stat.version) throw new BadVersionError(path);
      const zxid = ++this.zxid;
      node.data = bytes(data);
      node.stat = { ...node.stat, version: node.stat.version + 1, mzxid: zxid, dataLength: node.data.length };
      this.fire(path, EventType.NodeDataChanged, zxid);
      return Promise.resolve(node.stat);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  delete(path: string, version = -1): Promise<void> {
    this.calls.push(`delete ${path} v=${version}`);
    try {
      if (path === "/") throw new BadArgumentsError(path);
      const node = this.get(path);
      if (version !== -1 && version !== node.stat.version) throw new BadVersionError(path);
      if (node.children.size > 0) throw new NotEmptyError(path);
      const zxid = ++this.zxid;
      this.nodes.delete(path);
      const parent = this.get(parentPath(path));
      parent.children.delete(path.slice(path.lastIndexOf("/") + 1));
      parent.stat = { ...parent.stat, numChildren: parent.children.size, pzxid: zxid };
      this.fire(path, EventType.NodeDeleted, zxid);
      this.fire(parentPath(path), EventType.NodeChildrenChanged, zxid);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  multi(): MultiBuilder {
    throw new Error("not in the fake");
  }

  sync(path?: string): Promise<void> {
    this.calls.push(`sync ${path ?? "/"}`);
    return Promise.resolve();
  }

  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    try {
      const node = this.get(path);
      return Promise.resolve({ acl: node.acl, stat: node.stat });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    try {
      const node = this.get(path);
      if (version !== -1 && version !== node.stat.aversion) throw new BadVersionError(path);
      node.acl = [...acl];
      node.stat = { ...node.stat, aversion: node.stat.aversion + 1 };
      return Promise.resolve(node.stat);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  addAuth(_scheme: "digest", credentials: string): Promise<void> {
    this.auth.push(credentials);
    return Promise.resolve();
  }

  addWatch(path: string, mode: AddWatchMode, watcher: Watcher): Promise<void> {
    this.persistent.push({ path, mode, watcher });
    return Promise.resolve();
  }

  watchStream(): Promise<EventStream<WatchedEvent>> {
    return Promise.reject(new Error("not in the fake"));
  }

  removeWatches(path: string, _type: number, watcher?: Watcher): Promise<void> {
    for (let i = this.persistent.length - 1; i >= 0; i--) {
      const watch = this.persistent[i]!;
      if (watch.path === path && (watcher === undefined || watch.watcher === watcher)) this.persistent.splice(i, 1);
    }
    return Promise.resolve();
  }

  get persistentWatchCount(): number {
    return this.persistent.length;
  }

  on(_event: "state", _listener: (change: StateChange) => void): () => void {
    return () => undefined;
  }

  states(): EventStream<StateChange> {
    throw new Error("not in the fake");
  }

  close(): Promise<void> {
    this.state = "closed";
    return Promise.resolve();
  }
}
