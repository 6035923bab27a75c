/**
 * Data at rest is the owner's alone (issue 13): every directory the file log
 * makes is 0700, also one that existed with a looser mode, and every file it
 * writes (segments, snapshots, the lock) is 0600, whatever the umask lets
 * through.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DATA_DIRECTORY_MODE, DATA_FILE_MODE } from "../src/wal-fs.js";
import type { FileDurableLog } from "../src/storage-file.js";
import { entries, makeTempDirectory, openLog, removeDirectory } from "./storage-file-helpers.js";

let root: string;
let log: FileDurableLog | undefined;
let umask: number;

beforeEach(async () => {
  root = await makeTempDirectory();
  // The most permissive umask: whatever is private is so because the log made it so.
  umask = process.umask(0);
});
afterEach(async () => {
  process.umask(umask);
  await log?.close();
  log = undefined;
  await removeDirectory(root);
});

/** Every directory and file under `dir` (dir included) with its permission bits. */
async function modes(dir: string): Promise<{ path: string; directory: boolean; mode: number }[]> {
  const out = [{ path: dir, directory: true, mode: (await fs.stat(dir)).mode & 0o777 }];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await modes(full)));
    else out.push({ path: full, directory: false, mode: (await fs.stat(full)).mode & 0o777 });
  }
  return out;
}

async function fillLog(directory: string): Promise<void> {
  ({ log } = await openLog(directory));
  await log.save({ hardState: { term: 1, vote: "n1", commit: 10 }, entries: entries(1, 10, 1) });
  await log.saveSnapshot({ meta: { index: 5, term: 1, conf: { voters: ["n1"], learners: [] } }, data: new Uint8Array([1, 2, 3]) });
  await log.compact(5);
}

describe("file log permissions", () => {
  it("the modes are rwx------ and rw-------", () => {
    expect(DATA_DIRECTORY_MODE).toBe(0o700);
    expect(DATA_FILE_MODE).toBe(0o600);
  });

  it("makes its directories 0700 (nested, new) and its files 0600 under umask 000", async () => {
    const directory = path.join(root, "a", "b", "node");
    await fillLog(directory);
    const found = await modes(directory);
    expect(found.filter((f) => !f.directory).length).toBeGreaterThanOrEqual(2);
    for (const item of found) expect({ path: item.path, mode: item.mode.toString(8) }).toEqual({ path: item.path, mode: item.directory ? "700" : "600" });
  });

  it("tightens an existing 0755 data directory (and its 0755 wal directory) from an older version", async () => {
    const directory = path.join(root, "node");
    await fs.mkdir(path.join(directory, "wal"), { recursive: true });
    await fs.chmod(directory, 0o755);
    await fs.chmod(path.join(directory, "wal"), 0o755);
    await fillLog(directory);
    expect((await fs.stat(directory)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(directory, "wal"))).mode & 0o777).toBe(0o700);
    for (const item of await modes(directory)) if (!item.directory) expect(item.mode, item.path).toBe(0o600);
  });
});
