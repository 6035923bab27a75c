/**
 * `FileDurableLog`: the durable log of a node's data directory (DESIGN.md §5).
 *
 *   <directory>/LOCK                               pid of the owning process
 *   <directory>/wal/<seq 20 digits>-<firstIndex 20 digits>.seg   WAL segments (see wal-format.ts)
 *   <directory>/snap/<index 20 digits>-<term 20 digits>.snap     the latest snapshot
 *
 * Hard state is a WAL record (a field of the save's Batch record, repeated in
 * every segment's start record), so one save = one record = one fdatasync, and
 * a crash leaves either the old or the new hard state. Snapshots are written
 * temp + fsync + rename + fsync(dir).
 *
 * Group commit: `save()` validates and encodes synchronously (in call order),
 * then queues; one writer drains the queue, writing every queued save in one
 * write and one fdatasync, and resolves them in order. While it waits on the
 * disk, new saves pile up for the next flush. The queue is bounded by
 * `maxQueuedSaves`.
 *
 * After any I/O failure the log refuses every later call (StorageFailedError):
 * after a failed fsync the page cache may have dropped the data, so retrying is
 * not safe; restart and recover from disk.
 *
 * The directory lock: `LOCK` is created with O_EXCL and holds the owner's pid.
 * A lock whose pid is not a live process is stale and taken over. Caveat: a
 * recycled pid makes a stale lock look live (remove LOCK by hand once sure no
 * node runs); a lock holding this process's own pid is live only if this
 * process took it (a container restarted as pid 1 reclaims its own old lock).
 */
import * as path from "node:path";
import type { Logger } from "@corral/actors";
import type { DurableBatch, DurableLog, Entry, HardState, RecoveredState, Snapshot, SnapshotMeta } from "./types.js";
import {
  StorageCorruptionError,
  StorageFailedError,
  StorageInvalidInputError,
  StorageInvariantViolation,
  StorageLockedError,
  StorageNotOpenError,
  StorageQueueFullError,
  StorageRecordTooLargeError,
} from "./wal-errors.js";
import {
  MAX_RECORD_BYTES_LIMIT,
  MAX_VOTE_BYTES,
  PayloadDecodeError,
  RECORD_HEADER_BYTES,
  batchRecordBytes,
  decodePayload,
  decodeSnapshotFile,
  encodeBatchRecord,
  encodeResetRecord,
  encodeSegmentStartRecord,
  encodeSnapshotHead,
  scanRecords,
  voteByteLength,
} from "./wal-format.js";
import { liveWalFileSystem, syncDirectory, writeFully } from "./wal-fs.js";
import type { WalFileHandle, WalFileSystem } from "./wal-fs.js";
import { LogReplay, deletableSegmentCount } from "./wal-replay.js";

export {
  StorageCorruptionError,
  StorageFailedError,
  StorageInvalidInputError,
  StorageInvariantViolation,
  StorageLockedError,
  StorageNotOpenError,
  StorageQueueFullError,
  StorageRecordTooLargeError,
} from "./wal-errors.js";
export type { StorageError } from "./wal-errors.js";
export type { WalFileHandle, WalFileSystem, WalOpenFlags } from "./wal-fs.js";
export { DATA_DIRECTORY_MODE, DATA_FILE_MODE, liveWalFileSystem } from "./wal-fs.js";

/** `always`: every save is on disk when it resolves. `none`: never fsync — benchmarks only. */
export type FsyncPolicy = "always" | "none";

export interface FileDurableLogOptions {
  /** The node's data directory (created if missing). */
  readonly directory: string;
  /** Default "always". "none" logs a loud warning once per process. */
  readonly fsync?: FsyncPolicy;
  /** Roll to a new segment file once the current one would exceed this. Default 64 MiB. */
  readonly segmentMaxBytes?: number;
  /** Largest record (one save) accepted; larger batches are refused. Default 16 MiB. */
  readonly maxRecordBytes?: number;
  /** Saves waiting for the disk beyond this are refused with StorageQueueFullError. Default 1024. */
  readonly maxQueuedSaves?: number;
  /** Most bytes written by one flush (one fsync); more saves wait for the next. Default 16 MiB. */
  readonly maxFlushBytes?: number;
  readonly fileSystem?: WalFileSystem;
  readonly logger?: Logger;
  /** Whether a pid names a live process (stale lock detection). Default: `process.kill(pid, 0)`. */
  readonly isProcessAlive?: (pid: number) => boolean;
}

export const FILE_DURABLE_LOG_DEFAULTS = {
  fsync: "always" as FsyncPolicy,
  segmentMaxBytes: 64 * 1024 * 1024,
  maxRecordBytes: 16 * 1024 * 1024,
  maxQueuedSaves: 1024,
  maxFlushBytes: 16 * 1024 * 1024,
} as const;

export interface FileDurableLogStats {
  /** fdatasync/fsync calls on WAL segment files (group commit makes this << saves). */
  readonly walSyncs: number;
  /** Flushes (one write each) of queued saves. */
  readonly flushes: number;
  readonly savesWritten: number;
  readonly bytesWritten: number;
  readonly segments: number;
  readonly queuedSaves: number;
}

const LOCK_FILE = "LOCK";
const WAL_DIRECTORY = "wal";
const SNAPSHOT_DIRECTORY = "snap";
const SEGMENT_NAME = /^(\d{20})-(\d{20})\.seg$/;
const SNAPSHOT_NAME = /^(\d{20})-(\d{20})\.snap$/;
const TEMP_SUFFIX = ".tmp";

/** Directories locked by this process (a LOCK with our own pid is ours only if listed here). */
const directoriesLockedByThisProcess = new Set<string>();
let warnedAboutNoFsync = false;

function pad(value: number): string {
  return value.toString().padStart(20, "0");
}

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${pad(seq)}-${pad(firstIndex)}.seg`;
}

export function snapshotFileName(index: number, term: number): string {
  return `${pad(index)}-${pad(term)}.snap`;
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

function defaultIsProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(error) === "EPERM";
  }
}

/** Terms of the accepted log (base, lastIndex], to validate saves synchronously. */
class TermIndex {
  private terms: number[] = [];
  constructor(
    private base: number,
    private baseTerm: number,
  ) {}
  get firstIndex(): number {
    return this.base;
  }
  get lastIndex(): number {
    return this.base + this.terms.length;
  }
  get lastTerm(): number {
    return this.terms.length === 0 ? this.baseTerm : (this.terms[this.terms.length - 1] as number);
  }
  termAt(index: number): number | null {
    if (index === this.base) return this.baseTerm;
    if (index < this.base || index > this.lastIndex) return null;
    return this.terms[index - this.base - 1] as number;
  }
  /** Keeps entries < index, then appends. */
  replaceFrom(index: number, terms: readonly number[]): void {
    if (index <= this.base || index > this.lastIndex + 1) throw new StorageInvariantViolation(`replaceFrom(${index}) outside (${this.base}, ${this.lastIndex + 1}]`);
    this.terms.length = index - this.base - 1;
    for (const term of terms) this.terms.push(term);
  }
  compactTo(index: number, term: number): void {
    if (this.termAt(index) !== term) throw new StorageInvariantViolation(`compactTo(${index}, ${term}) does not match the log`);
    this.terms.splice(0, index - this.base);
    this.base = index;
    this.baseTerm = term;
  }
  reset(index: number, term: number): void {
    this.terms = [];
    this.base = index;
    this.baseTerm = term;
  }
}

interface LogPosition {
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly hardState: HardState | null;
}

interface SegmentInfo {
  readonly seq: number;
  readonly name: string;
  lowestTouchedIndex: number;
}

interface ActiveSegment {
  readonly info: SegmentInfo;
  readonly handle: WalFileHandle;
  size: number;
  /** Bytes of the start record: a segment holding only that is never rolled. */
  readonly startBytes: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type QueueItem =
  | (Waiter & { readonly kind: "save"; readonly record: Buffer; readonly after: LogPosition; readonly lowestTouchedIndex: number })
  | (Waiter & { readonly kind: "snapshot"; readonly snapshot: Snapshot; readonly reset: boolean })
  | (Waiter & { readonly kind: "compact"; readonly index: number });

type SaveItem = Extract<QueueItem, { kind: "save" }>;

export class FileDurableLog implements DurableLog {
  private readonly directory: string;
  private readonly walDirectory: string;
  private readonly snapshotDirectory: string;
  private readonly lockPath: string;
  private readonly fileSystem: WalFileSystem;
  private readonly fsync: FsyncPolicy;
  private readonly segmentMaxBytes: number;
  private readonly maxRecordBytes: number;
  private readonly maxQueuedSaves: number;
  private readonly maxFlushBytes: number;
  private readonly logger: Logger | undefined;
  private readonly isProcessAlive: (pid: number) => boolean;

  private state: "unloaded" | "loading" | "open" | "closed" | "failed" = "unloaded";
  private failure: StorageFailedError | null = null;
  private lockHeld = false;

  // Accepted state: every call validated so far, updated synchronously in call order.
  private terms = new TermIndex(0, 0);
  private acceptedHardState: HardState | null = null;
  private acceptedSnapshot: { index: number; term: number } = { index: 0, term: 0 };

  // Written state: what the records written so far say (for segment start records).
  private written: LogPosition = { lastIndex: 0, lastTerm: 0, hardState: null };
  private segments: SegmentInfo[] = [];
  private active: ActiveSegment | null = null;

  private readonly queue: QueueItem[] = [];
  private queuedSaves = 0;
  private draining: Promise<void> | null = null;

  private counters = { walSyncs: 0, flushes: 0, savesWritten: 0, bytesWritten: 0 };

  constructor(options: FileDurableLogOptions) {
    this.directory = path.resolve(options.directory);
    this.walDirectory = path.join(this.directory, WAL_DIRECTORY);
    this.snapshotDirectory = path.join(this.directory, SNAPSHOT_DIRECTORY);
    this.lockPath = path.join(this.directory, LOCK_FILE);
    this.fileSystem = options.fileSystem ?? liveWalFileSystem;
    this.fsync = options.fsync ?? FILE_DURABLE_LOG_DEFAULTS.fsync;
    this.segmentMaxBytes = options.segmentMaxBytes ?? FILE_DURABLE_LOG_DEFAULTS.segmentMaxBytes;
    this.maxRecordBytes = options.maxRecordBytes ?? FILE_DURABLE_LOG_DEFAULTS.maxRecordBytes;
    this.maxQueuedSaves = options.maxQueuedSaves ?? FILE_DURABLE_LOG_DEFAULTS.maxQueuedSaves;
    this.maxFlushBytes = options.maxFlushBytes ?? FILE_DURABLE_LOG_DEFAULTS.maxFlushBytes;
    this.logger = options.logger;
    this.isProcessAlive = options.isProcessAlive ?? defaultIsProcessAlive;
    const positive = (name: string, value: number, max = Number.MAX_SAFE_INTEGER): void => {
      if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new StorageInvalidInputError(`${name} must be an integer in [1, ${max}], got ${value}`);
    };
    positive("segmentMaxBytes", this.segmentMaxBytes);
    positive("maxRecordBytes", this.maxRecordBytes, MAX_RECORD_BYTES_LIMIT);
    positive("maxQueuedSaves", this.maxQueuedSaves);
    positive("maxFlushBytes", this.maxFlushBytes);
    if (this.fsync !== "always" && this.fsync !== "none") throw new StorageInvalidInputError(`fsync must be "always" or "none"`);
    if (this.fsync === "none" && !warnedAboutNoFsync) {
      warnedAboutNoFsync = true;
      const message = "!!! FileDurableLog fsync: \"none\" — acknowledged writes can be LOST on power failure or kernel crash. For benchmarks only; never in production. !!!";
      if (this.logger !== undefined) this.logger.warn({ directory: this.directory, fsync: "none" }, message);
      else process.stderr.write(`${message}\n`);
    }
  }

  stats(): FileDurableLogStats {
    return { ...this.counters, segments: this.segments.length, queuedSaves: this.queuedSaves };
  }

  // ------------------------------------------------------------ recovery

  async load(): Promise<RecoveredState> {
    if (this.state !== "unloaded") throw new StorageInvalidInputError(`load() may be called once (log is ${this.state})`);
    this.state = "loading";
    try {
      await this.fileSystem.mkdir(this.directory);
      await this.fileSystem.mkdir(this.walDirectory);
      await this.fileSystem.mkdir(this.snapshotDirectory);
      await this.acquireLock();
      const recovered = await this.recover();
      this.state = "open";
      return recovered;
    } catch (error) {
      this.state = "closed";
      if (this.active !== null) await this.active.handle.close().catch(() => undefined);
      this.active = null;
      await this.releaseLock();
      if (error instanceof StorageCorruptionError || error instanceof StorageLockedError) throw error;
      if (error instanceof StorageFailedError || error instanceof StorageInvariantViolation) throw error;
      throw new StorageFailedError("load", { cause: error });
    }
  }

  private async recover(): Promise<RecoveredState> {
    const snapshot = await this.loadLatestSnapshot();
    const snapshotIndex = snapshot?.meta.index ?? 0;
    const snapshotTerm = snapshot?.meta.term ?? 0;

    const names = (await this.fileSystem.readdir(this.walDirectory)).filter((name) => SEGMENT_NAME.test(name)).sort();
    const replay = new LogReplay();
    const segments: SegmentInfo[] = [];
    let activeSize = 0;
    let activeStartBytes = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const file = path.join(this.walDirectory, name);
      const match = SEGMENT_NAME.exec(name) as RegExpExecArray;
      const seq = Number(match[1]);
      const isLast = i === names.length - 1;
      const previous = segments[segments.length - 1];
      if (previous !== undefined && seq !== previous.seq + 1) throw new StorageCorruptionError(file, 0, `segment seq ${seq} follows ${previous.seq}: a segment is missing`);
      const bytes = await this.fileSystem.readFile(file);
      const scan = scanRecords(bytes, isLast);
      if (scan.kind === "corrupt") throw new StorageCorruptionError(file, scan.offset, scan.reason);
      let size = bytes.length;
      if (scan.kind === "tornTail") {
        this.logger?.warn({ file, offset: scan.validBytes, droppedBytes: bytes.length - scan.validBytes, reason: scan.reason }, "truncating torn tail of the WAL");
        size = scan.validBytes;
      }
      if (scan.records.length === 0) {
        // Only a crash while creating the newest segment leaves one without its start record.
        if (!isLast) throw new StorageCorruptionError(file, 0, "empty segment");
        this.logger?.warn({ file }, "removing a WAL segment cut short while being created");
        await this.fileSystem.unlink(file);
        await syncDirectory(this.fileSystem, this.walDirectory);
        break;
      }
      if (scan.kind === "tornTail") {
        const handle = await this.fileSystem.open(file, "r+");
        try {
          await handle.truncate(size);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      }
      const info: SegmentInfo = { seq, name, lowestTouchedIndex: Infinity };
      for (let r = 0; r < scan.records.length; r++) {
        const framed = scan.records[r] as (typeof scan.records)[number];
        let record;
        try {
          record = decodePayload(framed.payload);
        } catch (error) {
          if (error instanceof PayloadDecodeError) throw new StorageCorruptionError(file, framed.offset, `undecodable record: ${error.reason}`);
          throw error;
        }
        const touched = replay.apply(record, file, framed.offset, r === 0, seq);
        info.lowestTouchedIndex = Math.min(info.lowestTouchedIndex, touched);
      }
      segments.push(info);
      activeSize = size;
      activeStartBytes = RECORD_HEADER_BYTES + (scan.records[0] as (typeof scan.records)[number]).payload.length;
    }

    const firstSegment = segments[0];
    if (firstSegment !== undefined && replay.base > snapshotIndex) {
      throw new StorageCorruptionError(
        path.join(this.walDirectory, firstSegment.name),
        0,
        `the WAL starts after index ${replay.base} but the snapshot covers only up to ${snapshotIndex}: entries are missing`,
      );
    }
    // Raft §7: keep the entries after the snapshot only if the log holds the
    // snapshot's last entry; otherwise the whole log is superseded.
    const termAtSnapshot = replay.termAt(snapshotIndex);
    const matches = firstSegment === undefined || (snapshotIndex <= replay.lastIndex && (termAtSnapshot === null || termAtSnapshot === snapshotTerm));
    const entries: Entry[] = matches ? replay.log.slice(Math.max(0, snapshotIndex - replay.base)) : [];

    this.terms = new TermIndex(snapshotIndex, snapshotTerm);
    const firstEntry = entries[0];
    if (firstEntry !== undefined) {
      if (firstEntry.index !== snapshotIndex + 1) throw new StorageInvariantViolation(`recovered entries start at ${firstEntry.index}, snapshot at ${snapshotIndex}`);
      this.terms.replaceFrom(firstEntry.index, entries.map((entry) => entry.term));
    }
    this.acceptedHardState = replay.hardState;
    this.acceptedSnapshot = { index: snapshotIndex, term: snapshotTerm };
    this.segments = segments;
    this.written = { lastIndex: this.terms.lastIndex, lastTerm: this.terms.lastTerm, hardState: replay.hardState };
    const last = segments[segments.length - 1];
    if (last !== undefined) {
      const handle = await this.fileSystem.open(path.join(this.walDirectory, last.name), "r+");
      this.active = { info: last, handle, size: activeSize, startBytes: activeStartBytes };
    }
    if (!matches) {
      this.logger?.warn({ snapshotIndex, snapshotTerm, walLastIndex: replay.lastIndex }, "the WAL does not match the snapshot; discarding its entries");
      await this.appendRecords([encodeResetRecord(snapshotIndex, snapshotTerm)]);
      if (this.active !== null) this.active.info.lowestTouchedIndex = -Infinity;
    }
    return { hardState: replay.hardState, snapshot, entries };
  }

  private async loadLatestSnapshot(): Promise<Snapshot | null> {
    const names = await this.fileSystem.readdir(this.snapshotDirectory);
    for (const name of names) {
      // A temp file is a snapshot write that never reached its rename.
      if (name.endsWith(TEMP_SUFFIX)) await this.fileSystem.unlink(path.join(this.snapshotDirectory, name));
    }
    const newest = names.filter((name) => SNAPSHOT_NAME.test(name)).sort().pop();
    if (newest === undefined) return null;
    const file = path.join(this.snapshotDirectory, newest);
    const decoded = decodeSnapshotFile(await this.fileSystem.readFile(file));
    if (!decoded.valid) throw new StorageCorruptionError(file, decoded.offset, decoded.reason);
    const match = SNAPSHOT_NAME.exec(newest) as RegExpExecArray;
    if (decoded.meta.index !== Number(match[1]) || decoded.meta.term !== Number(match[2])) {
      throw new StorageCorruptionError(file, 0, `snapshot meta says ${decoded.meta.index}-${decoded.meta.term}, file name says otherwise`);
    }
    return { meta: decoded.meta, data: decoded.data };
  }

  // ------------------------------------------------------------ lock

  private async acquireLock(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let handle: WalFileHandle;
      try {
        handle = await this.fileSystem.open(this.lockPath, "wx");
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw error;
        const ownerPid = await this.readLockPid();
        const stale = ownerPid !== null && (ownerPid === process.pid ? !directoriesLockedByThisProcess.has(this.directory) : !this.isProcessAlive(ownerPid));
        if (!stale || attempt > 0) throw new StorageLockedError(this.lockPath, ownerPid);
        this.logger?.warn({ lockFile: this.lockPath, ownerPid }, "taking over a stale data directory lock");
        await this.fileSystem.unlink(this.lockPath).catch((unlinkError: unknown) => {
          if (errorCode(unlinkError) !== "ENOENT") throw unlinkError;
        });
        continue;
      }
      try {
        await writeFully(handle, Buffer.from(`${process.pid}\n`), 0);
        if (this.fsync === "always") await handle.sync();
      } finally {
        await handle.close();
      }
      directoriesLockedByThisProcess.add(this.directory);
      this.lockHeld = true;
      return;
    }
  }

  /** The pid in LOCK; null when unreadable (a creator that crashed before writing it, or is writing it now). */
  private async readLockPid(): Promise<number | null> {
    try {
      const text = (await this.fileSystem.readFile(this.lockPath)).toString("utf8").trim();
      return /^\d+$/.test(text) ? Number(text) : null;
    } catch (_error) {
      return null;
    }
  }

  private async releaseLock(): Promise<void> {
    if (!this.lockHeld) return;
    this.lockHeld = false;
    directoriesLockedByThisProcess.delete(this.directory);
    await this.fileSystem.unlink(this.lockPath).catch(() => undefined);
  }

  // ------------------------------------------------------------ the DurableLog API

  private refusal(): Error | null {
    switch (this.state) {
      case "open":
        return null;
      case "failed":
        return this.failure;
      case "closed":
        return new StorageNotOpenError("closed");
      default:
        return new StorageNotOpenError("unloaded");
    }
  }

  async save(batch: DurableBatch): Promise<void> {
    // Everything up to the first await runs synchronously, in call order.
    const refusal = this.refusal();
    if (refusal !== null) throw refusal;
    if (this.queuedSaves >= this.maxQueuedSaves) throw new StorageQueueFullError(this.maxQueuedSaves);
    const hardState = batch.hardState ?? null;
    const entries = batch.entries;
    const invalid = this.validateBatch(hardState, entries);
    if (invalid !== null) throw new StorageInvalidInputError(invalid);
    const recordBytes = batchRecordBytes(hardState, entries);
    if (recordBytes - RECORD_HEADER_BYTES > this.maxRecordBytes) throw new StorageRecordTooLargeError(recordBytes - RECORD_HEADER_BYTES, this.maxRecordBytes);
    const empty = hardState === null && entries.length === 0;
    const record = empty ? Buffer.alloc(0) : encodeBatchRecord(hardState, entries);
    const first = entries[0];
    if (first !== undefined) this.terms.replaceFrom(first.index, entries.map((entry) => entry.term));
    if (hardState !== null) this.acceptedHardState = hardState;
    const after: LogPosition = { lastIndex: this.terms.lastIndex, lastTerm: this.terms.lastTerm, hardState: this.acceptedHardState };
    this.queuedSaves++;
    await new Promise<void>((resolve, reject) => {
      this.enqueue({ kind: "save", record, after, lowestTouchedIndex: first?.index ?? Infinity, resolve, reject });
    });
  }

  /** Why a batch is refused, or null. Pure check against the accepted state. */
  private validateBatch(hardState: HardState | null, entries: readonly Entry[]): string | null {
    if (hardState !== null) {
      if (!isNonNegativeSafeInteger(hardState.term) || !isNonNegativeSafeInteger(hardState.commit)) return "hard state term and commit must be non-negative safe integers";
      if (hardState.vote !== null && (typeof hardState.vote !== "string" || voteByteLength(hardState.vote) > MAX_VOTE_BYTES)) return `vote must be null or a string of at most ${MAX_VOTE_BYTES} bytes`;
      const previous = this.acceptedHardState;
      if (previous !== null && hardState.term < previous.term) return `hard state term ${hardState.term} is below the stored term ${previous.term}`;
    }
    const first = entries[0];
    if (first === undefined) return null;
    let previousTerm: number | null = null;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      if (!Number.isSafeInteger(entry.index) || entry.index < 1 || !isNonNegativeSafeInteger(entry.term)) return `entry ${i} has a bad index or term`;
      if (entry.index !== first.index + i) return `entries are not contiguous at ${entry.index}`;
      if (entry.type !== 0 && entry.type !== 1 && entry.type !== 2) return `entry ${entry.index} has unknown type ${String(entry.type)}`;
      if (!(entry.data instanceof Uint8Array)) return `entry ${entry.index} data is not a Uint8Array`;
      if (previousTerm !== null && entry.term < previousTerm) return `entry ${entry.index} term ${entry.term} is below the previous term ${previousTerm}`;
      previousTerm = entry.term;
    }
    const lastIndex = this.terms.lastIndex;
    if (first.index > lastIndex + 1) return `entries start at ${first.index} but the log ends at ${lastIndex} (a gap)`;
    if (first.index <= this.acceptedSnapshot.index) return `entries start at ${first.index}, inside the snapshot (up to ${this.acceptedSnapshot.index})`;
    const committed = this.acceptedHardState?.commit ?? 0;
    if (first.index <= lastIndex && first.index <= committed) return `entries at ${first.index} would overwrite committed entries (commit ${committed})`;
    const termBefore = this.terms.termAt(first.index - 1);
    if (termBefore !== null && first.term < termBefore) return `entry ${first.index} term ${first.term} is below the term ${termBefore} before it`;
    return null;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) throw refusal;
    const invalid = this.validateSnapshot(snapshot.meta, snapshot.data);
    if (invalid !== null) throw new StorageInvalidInputError(invalid);
    const { index, term } = snapshot.meta;
    if (index <= this.acceptedSnapshot.index) {
      // Not newer than the stored snapshot: nothing to write (as MemoryDurableLog);
      // the no-op compact keeps resolution in call order.
      await new Promise<void>((resolve, reject) => {
        this.enqueue({ kind: "compact", index: this.acceptedSnapshot.index, resolve, reject });
      });
      return;
    }
    // Raft §7: a log holding the snapshot's last entry keeps what follows it;
    // any other log is superseded entirely.
    const reset = this.terms.termAt(index) !== term;
    if (reset) this.terms.reset(index, term);
    else this.terms.compactTo(index, term);
    this.acceptedSnapshot = { index, term };
    await new Promise<void>((resolve, reject) => {
      this.enqueue({ kind: "snapshot", snapshot, reset, resolve, reject });
    });
  }

  private validateSnapshot(meta: SnapshotMeta, data: Uint8Array): string | null {
    if (!Number.isSafeInteger(meta.index) || meta.index < 1 || !isNonNegativeSafeInteger(meta.term)) return "snapshot index must be a positive safe integer and term a non-negative one";
    if (meta.index === this.acceptedSnapshot.index && meta.term !== this.acceptedSnapshot.term) return `a snapshot at ${meta.index} with term ${this.acceptedSnapshot.term} is already stored`;
    const isStrings = (value: unknown): boolean => Array.isArray(value) && value.every((item) => typeof item === "string");
    if (!isStrings(meta.conf.voters) || !isStrings(meta.conf.learners) || (meta.conf.votersOutgoing !== undefined && !isStrings(meta.conf.votersOutgoing))) return "snapshot conf must hold string arrays";
    if (!(data instanceof Uint8Array)) return "snapshot data is not a Uint8Array";
    return null;
  }

  async compact(index: number): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) throw refusal;
    if (!isNonNegativeSafeInteger(index)) throw new StorageInvalidInputError("compact index must be a non-negative safe integer");
    // Entries above the snapshot are never dropped: compaction stops at the snapshot (as MemoryDurableLog).
    const upTo = Math.min(index, this.acceptedSnapshot.index);
    await new Promise<void>((resolve, reject) => {
      this.enqueue({ kind: "compact", index: upTo, resolve, reject });
    });
  }

  async close(): Promise<void> {
    if (this.state === "unloaded" || this.state === "closed") {
      this.state = "closed";
      return;
    }
    const wasFailed = this.state === "failed";
    this.state = "closed";
    // Saves accepted before close() still reach the disk.
    while (this.draining !== null) await this.draining;
    if (this.active !== null) {
      const handle = this.active.handle;
      this.active = null;
      await handle.close().catch((error: unknown) => {
        if (!wasFailed) throw new StorageFailedError("close", { cause: error });
      });
    }
    await this.releaseLock();
  }

  // ------------------------------------------------------------ the writer

  private enqueue(item: QueueItem): void {
    this.queue.push(item);
    if (this.draining === null) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const item = this.queue[0];
      if (item === undefined) {
        // Cleared synchronously with seeing an empty queue, so an enqueue can never be stranded.
        this.draining = null;
        return;
      }
      let taken: QueueItem[] = [item];
      let operation: string = item.kind;
      try {
        if (item.kind === "save") {
          taken = this.takeSaveGroup();
          await this.flushSaves(taken as SaveItem[]);
        } else {
          this.queue.shift();
          if (item.kind === "snapshot") await this.writeSnapshot(item.snapshot, item.reset);
          else await this.compactSegments(Math.min(item.index, this.acceptedSnapshot.index));
        }
        for (const done of taken) done.resolve();
      } catch (error) {
        operation = error instanceof StorageInvariantViolation ? `${operation} (invariant)` : operation;
        this.fail(operation, error, taken);
      }
    }
  }

  private takeSaveGroup(): SaveItem[] {
    const group: SaveItem[] = [];
    let bytes = 0;
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.kind !== "save") break;
      if (group.length > 0 && bytes + next.record.length > this.maxFlushBytes) break;
      this.queue.shift();
      this.queuedSaves--;
      group.push(next);
      bytes += next.record.length;
    }
    return group;
  }

  private async flushSaves(group: readonly SaveItem[]): Promise<void> {
    const records = group.map((item) => item.record).filter((record) => record.length > 0);
    if (records.length > 0) {
      await this.appendRecords(records);
      let lowest = this.active?.info.lowestTouchedIndex ?? Infinity;
      for (const item of group) lowest = Math.min(lowest, item.lowestTouchedIndex);
      (this.active as ActiveSegment).info.lowestTouchedIndex = lowest;
      this.counters.savesWritten += records.length;
    }
    const last = group[group.length - 1];
    if (last !== undefined) this.written = last.after;
  }

  /** Writes records at the end of the active segment (rolling first if it is full) with one write and one sync. */
  private async appendRecords(records: readonly Buffer[]): Promise<void> {
    let total = 0;
    for (const record of records) total += record.length;
    let active = this.active;
    let created = false;
    const parts: Buffer[] = [];
    if (active === null || (active.size > active.startBytes && active.size + total > this.segmentMaxBytes)) {
      const seq = (this.segments[this.segments.length - 1]?.seq ?? 0) + 1;
      const name = segmentFileName(seq, this.written.lastIndex + 1);
      const handle = await this.fileSystem.open(path.join(this.walDirectory, name), "wx");
      const start = encodeSegmentStartRecord({ seq, prevIndex: this.written.lastIndex, prevTerm: this.written.lastTerm, hardState: this.written.hardState });
      const previous = active;
      const info: SegmentInfo = { seq, name, lowestTouchedIndex: Infinity };
      this.segments.push(info);
      active = { info, handle, size: 0, startBytes: start.length };
      this.active = active;
      created = true;
      parts.push(start);
      // The previous segment was synced by its last flush.
      if (previous !== null) await previous.handle.close();
    }
    parts.push(...records);
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    await writeFully(active.handle, bytes, active.size);
    active.size += bytes.length;
    this.counters.bytesWritten += bytes.length;
    this.counters.flushes++;
    if (this.fsync === "always") {
      await active.handle.datasync();
      this.counters.walSyncs++;
      // A new segment's directory entry must survive too.
      if (created) await syncDirectory(this.fileSystem, this.walDirectory);
    }
  }

  private async writeSnapshot(snapshot: Snapshot, reset: boolean): Promise<void> {
    const { index, term } = snapshot.meta;
    const name = snapshotFileName(index, term);
    const finalPath = path.join(this.snapshotDirectory, name);
    const tempPath = finalPath + TEMP_SUFFIX;
    const head = encodeSnapshotHead(snapshot.meta, snapshot.data);
    const handle = await this.fileSystem.open(tempPath, "w");
    try {
      await writeFully(handle, head, 0);
      await writeFully(handle, snapshot.data, head.length);
      if (this.fsync === "always") await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fileSystem.rename(tempPath, finalPath);
    if (this.fsync === "always") await syncDirectory(this.fileSystem, this.snapshotDirectory);
    // Only now that the snapshot is durable may the WAL forget what it replaces.
    if (reset) {
      await this.appendRecords([encodeResetRecord(index, term)]);
      (this.active as ActiveSegment).info.lowestTouchedIndex = -Infinity;
      this.written = { lastIndex: index, lastTerm: term, hardState: this.written.hardState };
    }
    for (const other of await this.fileSystem.readdir(this.snapshotDirectory)) {
      if (other !== name && SNAPSHOT_NAME.test(other)) await this.fileSystem.unlink(path.join(this.snapshotDirectory, other));
    }
    await this.compactSegments(index);
  }

  private async compactSegments(snapshotIndex: number): Promise<void> {
    const count = deletableSegmentCount(this.segments, this.written.lastIndex, snapshotIndex);
    if (count === 0) return;
    if (count >= this.segments.length) throw new StorageInvariantViolation("compaction would delete the active segment");
    // Oldest first, so a crash part-way leaves a contiguous run of segments.
    for (let i = 0; i < count; i++) {
      const segment = this.segments[0] as SegmentInfo;
      await this.fileSystem.unlink(path.join(this.walDirectory, segment.name));
      this.segments.shift();
    }
    if (this.fsync === "always") await syncDirectory(this.fileSystem, this.walDirectory);
  }

  private fail(operation: string, error: unknown, taken: readonly QueueItem[]): void {
    const failure = error instanceof StorageFailedError ? error : new StorageFailedError(operation, { cause: error });
    if (this.state !== "closed") this.state = "failed";
    this.failure = failure;
    this.logger?.error({ operation, error: String(error) }, "durable log failed; refusing further writes");
    const pending = [...taken, ...this.queue.splice(0)];
    this.queuedSaves = 0;
    for (const item of pending) item.reject(failure);
  }
}
