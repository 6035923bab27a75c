/** Shared helpers of the FileDurableLog tests: temp directories, entries, an fs shim that counts syncs. */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FileDurableLog, liveWalFileSystem } from "../src/storage-file.js";
import type { FileDurableLogOptions, WalFileHandle, WalFileSystem } from "../src/storage-file.js";
import type { Entry, EntryType } from "../src/types.js";

export async function makeTempDirectory(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "corral-wal-"));
}

export async function removeDirectory(directory: string): Promise<void> {
  await fs.rm(directory, { recursive: true, force: true });
}

/** A deterministic entry whose data identifies it. */
export function entry(index: number, term: number, dataBytes = 20, type: EntryType = 0): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type, data };
}

export function entries(from: number, to: number, term: number, dataBytes = 20): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) result.push(entry(index, term, dataBytes));
  return result;
}

/** Entries as plain comparable objects. */
export function plain(list: readonly Entry[]): { index: number; term: number; type: number; data: number[] }[] {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: [...e.data] }));
}

export interface CountingFileSystem extends WalFileSystem {
  readonly counts: { datasync: number; sync: number; writes: number };
  /** When set, the next datasync throws this. */
  failNextDatasync: Error | null;
}

export function countingFileSystem(inner: WalFileSystem = liveWalFileSystem): CountingFileSystem {
  const shim: CountingFileSystem = {
    counts: { datasync: 0, sync: 0, writes: 0 },
    failNextDatasync: null,
    ...inner,
    open: async (file, flags) => {
      const handle = await inner.open(file, flags);
      const wrapped: WalFileHandle = {
        write: (buffer, offset, length, position) => {
          shim.counts.writes++;
          return handle.write(buffer, offset, length, position);
        },
        datasync: async () => {
          shim.counts.datasync++;
          const failure = shim.failNextDatasync;
          if (failure !== null) {
            shim.failNextDatasync = null;
            throw failure;
          }
          await handle.datasync();
        },
        sync: async () => {
          shim.counts.sync++;
          await handle.sync();
        },
        truncate: (length) => handle.truncate(length),
        close: () => handle.close(),
      };
      return wrapped;
    },
  };
  return shim;
}

export async function openLog(directory: string, options: Partial<FileDurableLogOptions> = {}): Promise<{ log: FileDurableLog; recovered: Awaited<ReturnType<FileDurableLog["load"]>> }> {
  const log = new FileDurableLog({ directory, ...options });
  const recovered = await log.load();
  return { log, recovered };
}

export async function segmentFiles(directory: string): Promise<string[]> {
  return (await fs.readdir(path.join(directory, "wal"))).filter((name) => name.endsWith(".seg")).sort();
}
