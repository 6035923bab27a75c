/**
 * Cluster key files for the CLI: `corral keygen` writes one, `corral up`
 * makes <data>/cluster.key when absent. A key is 32 bytes from the OS
 * (crypto.randomBytes), stored as one `keyId:base64key` line, mode 0600.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { clusterKeyIdFor, formatClusterKeyLine } from "@corral/actors";

export const CLUSTER_KEY_FILE_NAME = "cluster.key";
const KEY_BYTES = 32;

/** A new key file line: `k<8 hex digits of the key's SHA-256>:<base64 of 32 random bytes>` (or the given id). */
export function newClusterKeyLine(keyId?: string): string {
  const secret = new Uint8Array(randomBytes(KEY_BYTES));
  return formatClusterKeyLine({ id: keyId ?? clusterKeyIdFor(secret), secret });
}

/** Create `file` (mode 0600, never overwriting: throws with code EEXIST) holding one new key. */
export function writeNewClusterKeyFile(file: string, keyId?: string): void {
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, `${newClusterKeyLine(keyId)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** `<dataDir>/cluster.key`, created with a fresh key if absent; returns its absolute path. */
export function ensureClusterKeyFile(dataDir: string): string {
  const file = join(resolve(dataDir), CLUSTER_KEY_FILE_NAME);
  try {
    writeNewClusterKeyFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return file;
}
