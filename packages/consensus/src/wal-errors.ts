/**
 * Typed failures of the durable file log (`FileDurableLog`). Each is a tagged
 * class with a stable string `code`, matched by `_tag`.
 */

/**
 * Acknowledged data on disk is damaged (bad checksum or framing with valid data
 * after it, a broken segment chain, a non-contiguous log). The node must not
 * start: an operator has to look at `file` at byte `offset`.
 */
export class StorageCorruptionError extends Error {
  readonly _tag = "StorageCorruptionError";
  readonly code = "StorageCorruption";
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`storage corruption in ${file} at byte ${offset}: ${reason}`, options);
    this.name = "StorageCorruptionError";
  }
}

/** A batch would encode to a WAL record larger than `maxRecordBytes`; nothing was written. */
export class StorageRecordTooLargeError extends Error {
  readonly _tag = "StorageRecordTooLargeError";
  readonly code = "StorageRecordTooLarge";
  constructor(
    readonly recordBytes: number,
    readonly maxRecordBytes: number,
  ) {
    super(`WAL record of ${recordBytes} bytes exceeds maxRecordBytes ${maxRecordBytes}`);
    this.name = "StorageRecordTooLargeError";
  }
}

/** More than `maxQueuedSaves` saves are waiting for the disk; this one was refused, nothing written. */
export class StorageQueueFullError extends Error {
  readonly _tag = "StorageQueueFullError";
  readonly code = "StorageQueueFull";
  constructor(readonly maxQueuedSaves: number) {
    super(`more than ${maxQueuedSaves} saves are queued for the disk`);
    this.name = "StorageQueueFullError";
  }
}

/** A batch or snapshot that breaks the log's rules (gap, term going back, below the snapshot); nothing written. */
export class StorageInvalidInputError extends Error {
  readonly _tag = "StorageInvalidInputError";
  readonly code = "StorageInvalidInput";
  constructor(readonly reason: string) {
    super(`invalid storage input: ${reason}`);
    this.name = "StorageInvalidInputError";
  }
}

/** Another live process holds the data directory's lock file. */
export class StorageLockedError extends Error {
  readonly _tag = "StorageLockedError";
  readonly code = "StorageLocked";
  constructor(
    readonly lockFile: string,
    readonly ownerPid: number | null,
  ) {
    super(`data directory is locked by ${ownerPid === null ? "another process" : `pid ${ownerPid}`} (${lockFile})`);
    this.name = "StorageLockedError";
  }
}

/** The log is not open: `load()` was not called (or failed), or `close()` was. */
export class StorageNotOpenError extends Error {
  readonly _tag = "StorageNotOpenError";
  readonly code = "StorageNotOpen";
  constructor(readonly state: "unloaded" | "closed") {
    super(`durable log is ${state}`);
    this.name = "StorageNotOpenError";
  }
}

/**
 * A write, fsync, rename or delete failed. The on-disk state is unknown (after
 * a failed fsync the kernel may have dropped the dirty pages), so the log
 * refuses every later call: restart and recover from disk.
 */
export class StorageFailedError extends Error {
  readonly _tag = "StorageFailedError";
  readonly code = "StorageFailed";
  constructor(
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(`durable log failed during ${operation}; restart to recover`, options);
    this.name = "StorageFailedError";
  }
}

/** A broken internal invariant of the file log: crash rather than corrupt the disk. */
export class StorageInvariantViolation extends Error {
  readonly _tag = "StorageInvariantViolation";
  readonly code = "StorageInvariantViolation";
  constructor(message: string) {
    super(message);
    this.name = "StorageInvariantViolation";
  }
}

export type StorageError =
  | StorageCorruptionError
  | StorageRecordTooLargeError
  | StorageQueueFullError
  | StorageInvalidInputError
  | StorageLockedError
  | StorageNotOpenError
  | StorageFailedError;
