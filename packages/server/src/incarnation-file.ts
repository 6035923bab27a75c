/**
 * The node's incarnation epoch (live only): a number in the data directory,
 * raised at every start and made durable (temp file, fsync, rename, fsync of
 * the directory) before the node sends anything, so frames of an earlier run
 * replayed into Redis are refused by peers as a stale epoch (peer-auth.ts).
 *
 * next = max(previous + 1, wall-clock seconds): the floor keeps the epoch
 * rising even if the data directory was wiped (a replaced disk), as long as
 * the clock is roughly right; without it a wiped node would restart at 1 and
 * be ignored by peers that remember its old epoch, until they restart.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { MAX_PEER_EPOCH } from "@corral/actors";
import { IncarnationFileInvalid } from "./errors.js";

export const INCARNATION_FILE = "incarnation";
const FORMAT = /^(\d{1,10})\n?$/;

/** Read the previous epoch (0 if none), persist and return the next one. Throws IncarnationFileInvalid. */
export function nextIncarnation(dataDir: string, wallSeconds: number): number {
  const path = join(dataDir, INCARNATION_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let previous = 0;
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new IncarnationFileInvalid(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  if (text !== undefined) {
    const match = FORMAT.exec(text);
    const value = match === null ? NaN : Number(match[1]);
    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_PEER_EPOCH) {
      throw new IncarnationFileInvalid(path, `expected one integer in [1, ${MAX_PEER_EPOCH}]; if the file is lost, write a number above every earlier epoch (the current Unix time in seconds is)`);
    }
    previous = value;
  }
  const floor = Number.isSafeInteger(wallSeconds) && wallSeconds > 0 ? Math.min(wallSeconds, MAX_PEER_EPOCH) : 0;
  const next = Math.max(previous + 1, floor);
  if (next > MAX_PEER_EPOCH) throw new IncarnationFileInvalid(path, `epochs exhausted (${previous})`);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    writeSync(fd, `${next}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const directory = openSync(dataDir, "r");
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
  return next;
}
