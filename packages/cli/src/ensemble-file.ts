/**
 * `<data>/ensemble.json`: the record of a running `corral up`, so `corral
 * status`, `corral shell` and `corral bench` with the same --data connect
 * without further flags. Written when the ensemble has a leader, removed when
 * `corral up` stops. Read strictly: a malformed record is a typed error.
 */
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RedisAuthFiles } from "@corral/actors";
import { EnsembleFileInvalid, EnsembleNotFound } from "./errors.js";

export const ENSEMBLE_FILE_VERSION = 1;
export const ENSEMBLE_FILE_NAME = "ensemble.json";

export interface EnsembleNodeRecord {
  readonly id: string;
  /** e.g. http://127.0.0.1:7101 */
  readonly adminUrl: string;
  readonly pid: number;
  /** The node's ZooKeeper-wire client port, host:port (absent in records of older `corral up`s). */
  readonly clientAddress?: string;
}

export interface EnsembleRecord {
  readonly version: typeof ENSEMBLE_FILE_VERSION;
  readonly cluster: string;
  readonly redisUrl: string;
  /**
   * How to authenticate to that Redis: a user name and the paths of the
   * password and TLS files, never a password (the file is 0600 besides).
   * Absent: none.
   */
  readonly redisAuth?: RedisAuthFiles;
  readonly nodes: readonly EnsembleNodeRecord[];
  /** The `corral up` process. */
  readonly upPid: number;
  /** The redis-server `corral up` started, or null when it was given --redis. */
  readonly redisPid: number | null;
  /** ISO time the ensemble came up. */
  readonly startedAt: string;
}

export function ensembleFilePath(dataDir: string): string {
  return join(dataDir, ENSEMBLE_FILE_NAME);
}

/** The record is for its owner only (it names the Redis URL, which may carry a password): rw------- */
export const ENSEMBLE_FILE_MODE = 0o600;

/** Write via a temp file + rename, so a reader never sees half a record. The file is the owner's only (0600). */
export function writeEnsembleFile(dataDir: string, record: EnsembleRecord): string {
  const file = ensembleFilePath(dataDir);
  const temp = `${file}.${process.pid}.tmp`;
  // A temp file left by an earlier run with this pid keeps its old mode through writeFileSync: remove it first.
  rmSync(temp, { force: true });
  writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: ENSEMBLE_FILE_MODE });
  chmodSync(temp, ENSEMBLE_FILE_MODE);
  renameSync(temp, file);
  return file;
}

export function removeEnsembleFile(dataDir: string): void {
  rmSync(ensembleFilePath(dataDir), { force: true });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const REDIS_AUTH_KEYS: readonly string[] = ["user", "passwordFile", "tlsCaFile", "tlsCertFile", "tlsKeyFile", "tlsServername"] satisfies readonly (keyof RedisAuthFiles)[];

function isPid(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** Validate a parsed record; throws EnsembleFileInvalid naming the first bad field. */
export function decodeEnsembleRecord(file: string, value: unknown): EnsembleRecord {
  const bad = (reason: string): never => {
    throw new EnsembleFileInvalid(file, reason);
  };
  if (!isObject(value)) return bad("not a JSON object");
  if (value["version"] !== ENSEMBLE_FILE_VERSION) bad(`version must be ${ENSEMBLE_FILE_VERSION}`);
  const cluster = value["cluster"];
  if (typeof cluster !== "string" || cluster === "") return bad("cluster must be a non-empty string");
  const redisUrl = value["redisUrl"];
  if (typeof redisUrl !== "string" || !/^rediss?:\/\//.test(redisUrl)) return bad("redisUrl must be a redis:// URL");
  const redisAuthRaw = value["redisAuth"];
  const redisAuth: Record<string, string> = {};
  if (redisAuthRaw !== undefined) {
    if (!isObject(redisAuthRaw)) return bad("redisAuth must be an object");
    for (const [key, field] of Object.entries(redisAuthRaw)) {
      if (!REDIS_AUTH_KEYS.includes(key)) return bad(`redisAuth.${key} is not a known field`);
      if (typeof field !== "string" || field === "") return bad(`redisAuth.${key} must be a non-empty string`);
      redisAuth[key] = field;
    }
  }
  const nodes = value["nodes"];
  if (!Array.isArray(nodes) || nodes.length === 0) return bad("nodes must be a non-empty array");
  const decodedNodes = nodes.map((node: unknown, index): EnsembleNodeRecord => {
    if (!isObject(node)) return bad(`nodes[${index}] must be an object`);
    const { id, adminUrl, pid, clientAddress } = node;
    if (typeof id !== "string" || id === "") return bad(`nodes[${index}].id must be a non-empty string`);
    if (typeof adminUrl !== "string" || !/^https?:\/\//.test(adminUrl)) return bad(`nodes[${index}].adminUrl must be an http:// URL`);
    if (!isPid(pid)) return bad(`nodes[${index}].pid must be a positive integer`);
    if (clientAddress === undefined) return { id, adminUrl, pid };
    if (typeof clientAddress !== "string" || !/^[^\s,]+:\d{1,5}$/.test(clientAddress)) return bad(`nodes[${index}].clientAddress must be host:port`);
    return { id, adminUrl, pid, clientAddress };
  });
  const upPid = value["upPid"];
  if (!isPid(upPid)) return bad("upPid must be a positive integer");
  const redisPid = value["redisPid"];
  if (redisPid !== null && !isPid(redisPid)) return bad("redisPid must be a positive integer or null");
  const startedAt = value["startedAt"];
  if (typeof startedAt !== "string") return bad("startedAt must be a string");
  return { version: ENSEMBLE_FILE_VERSION, cluster, redisUrl, ...(redisAuthRaw === undefined ? {} : { redisAuth: redisAuth as RedisAuthFiles }), nodes: decodedNodes, upPid, redisPid, startedAt };
}

export function readEnsembleFile(dataDir: string): EnsembleRecord {
  const file = ensembleFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new EnsembleNotFound(file, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EnsembleFileInvalid(file, "not valid JSON", { cause: error });
  }
  return decodeEnsembleRecord(file, parsed);
}

/** The ZooKeeper connect string of a record's nodes ("h1:p1,h2:p2,..."), or undefined if it names no client ports. */
export function zookeeperConnectString(record: EnsembleRecord): string | undefined {
  const addresses = record.nodes.map((node) => node.clientAddress).filter((address): address is string => address !== undefined);
  return addresses.length === 0 ? undefined : addresses.join(",");
}

/** Whether a process with this pid is alive (signal 0 probes without sending). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
