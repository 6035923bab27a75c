/**
 * Reading the cluster key file (live only). The key never comes from argv or
 * the environment, only from a file named there: argv is visible to every
 * local user (ps) and the environment leaks into child processes and crash
 * reports. Format and checks: @corral/actors parseClusterKeyFile.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { ClusterKeyInvalid, MAX_CLUSTER_KEY_FILE_BYTES, parseClusterKeyFile, type ClusterKeyring } from "@corral/actors";
import { ClusterKeyFileUnusable } from "./errors.js";

export interface LoadedClusterKeys {
  readonly keyring: ClusterKeyring;
  /** Set when group or others may read the file (it should be 0600): a warning, not a refusal. */
  readonly permissionWarning?: string;
}

/** Read and parse a key file. Throws ClusterKeyFileUnusable naming the path and the problem. */
export function loadClusterKeyFile(path: string): LoadedClusterKeys {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new ClusterKeyFileUnusable(path, `cannot open it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  let text: string;
  let mode: number;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ClusterKeyFileUnusable(path, "not a regular file");
    if (stat.size > MAX_CLUSTER_KEY_FILE_BYTES) throw new ClusterKeyFileUnusable(path, `larger than ${MAX_CLUSTER_KEY_FILE_BYTES} bytes`);
    mode = stat.mode;
    const buffer = Buffer.alloc(MAX_CLUSTER_KEY_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_CLUSTER_KEY_FILE_BYTES) throw new ClusterKeyFileUnusable(path, `larger than ${MAX_CLUSTER_KEY_FILE_BYTES} bytes`);
    }
    text = buffer.subarray(0, length).toString("utf8");
  } catch (error) {
    if (error instanceof ClusterKeyFileUnusable) throw error;
    throw new ClusterKeyFileUnusable(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  } finally {
    closeSync(fd);
  }
  const keyring = parseClusterKeyFile(text);
  if (keyring instanceof ClusterKeyInvalid) throw new ClusterKeyFileUnusable(path, keyring.message, { cause: keyring });
  const open = mode & 0o077;
  return open === 0 ? { keyring } : { keyring, permissionWarning: `mode ${(mode & 0o777).toString(8)} lets others read the cluster key; chmod 600 ${path}` };
}
