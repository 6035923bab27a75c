/**
 * The slice of the file system the file log uses, as an interface so tests can
 * count fsyncs or inject failures. `liveWalFileSystem` is node:fs/promises.
 */
import * as fs from "node:fs/promises";
import { StorageFailedError } from "./wal-errors.js";

export interface WalFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** fdatasync(2): the data and the metadata needed to read it back (the size). */
  datasync(): Promise<void>;
  /** fsync(2): used on directories and on files about to be renamed into place. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export type WalOpenFlags = "r" | "r+" | "w" | "wx";

export interface WalFileSystem {
  open(path: string, flags: WalOpenFlags): Promise<WalFileHandle>;
  readFile(path: string): Promise<Buffer>;
  /** Names in a directory (not paths). */
  readdir(path: string): Promise<string[]>;
  /** mkdir -p; the directory ends up private to its owner (DATA_DIRECTORY_MODE), also when it existed. */
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

/** Data at rest is the owner's alone: directories rwx------ ... */
export const DATA_DIRECTORY_MODE = 0o700;
/** ... and files rw------- (the umask can only take bits away). */
export const DATA_FILE_MODE = 0o600;

export const liveWalFileSystem: WalFileSystem = {
  open: (path, flags) => fs.open(path, flags, DATA_FILE_MODE),
  readFile: (path) => fs.readFile(path),
  readdir: (path) => fs.readdir(path),
  mkdir: async (path) => {
    await fs.mkdir(path, { recursive: true, mode: DATA_DIRECTORY_MODE });
    // mkdir leaves an existing directory as it was (e.g. 0755 from an older version): tighten it.
    await fs.chmod(path, DATA_DIRECTORY_MODE);
  },
  rename: (from, to) => fs.rename(from, to),
  unlink: (path) => fs.unlink(path),
};

/** Writes all of `bytes` at `position` (a file write may be partial). */
export async function writeFully(handle: WalFileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    if (bytesWritten <= 0) throw new StorageFailedError(`write at byte ${position + written} (no progress)`);
    written += bytesWritten;
  }
}

/** fsync a directory so a create, rename or delete in it survives power loss. */
export async function syncDirectory(fileSystem: WalFileSystem, path: string): Promise<void> {
  const handle = await fileSystem.open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
