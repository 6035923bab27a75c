/**
 * Configuration of `corral node`: from flags, then CORRAL_* env vars, then an
 * optional JSON file, then defaults (first found wins). Every value is checked
 * here or by the server's resolveNodeConfig; a bad one is a ConfigError that
 * names where it came from (`--peers`, `CORRAL_PEERS`, `corral.json: peers`).
 */
import { readFileSync } from "node:fs";
import type { RedisAuthFiles } from "@corral/actors";
import { InvalidNodeConfig, resolveNodeConfig, type NodeConfig } from "@corral/server";
import { ConfigError } from "./errors.js";

/** ZooKeeper's client port: a single-node ensemble answers where ZooKeeper clients look first. */
export const DEFAULT_CLIENT_PORT = 2181;

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * What `corral node` hands the server's `runNode` (its RunNodeConfig): the
 * node's identity, network, storage and admin settings, plus tuning.
 */
export interface NodeCommandConfig {
  readonly nodeId: string;
  readonly peers: readonly string[];
  readonly clusterName: string;
  readonly redisUrl: string;
  /** Redis user, password file and TLS files (never the password itself: docs/security.md); absent when none is given. */
  readonly redisAuth?: RedisAuthFiles;
  /** The cluster key file (the key itself never comes from flags or env); null: none given. */
  readonly clusterKeyFile: string | null;
  /** Where this node keeps its WAL and snapshots. */
  readonly dataDir: string;
  readonly adminHost: string;
  /** File with the admin HTTP bearer token (required for a non-loopback admin host); null: none. */
  readonly adminTokenFile: string | null;
  /** 0 = any free port. */
  readonly adminPort: number;
  /** The ZooKeeper-wire client port (default 2181 for a single-node ensemble, else 0 = any free port). */
  readonly clientPort: number;
  /** Address the client port binds (default 127.0.0.1). */
  readonly clientHost: string;
  readonly fsync: "always" | "none";
  /** Honour fault commands from Redis: multi-process tests only. */
  readonly testMode: boolean;
  readonly logLevel: LogLevelName;
  /** Timeouts and limits from the config file (validated by resolveNodeConfig). */
  readonly tuning: Partial<Omit<NodeConfig, "nodeId" | "peers" | "clusterName">>;
}

/** The flags `corral node` takes (strings as parseArgs gives them). */
export interface NodeFlags {
  readonly id?: string | undefined;
  readonly peers?: string | undefined;
  readonly cluster?: string | undefined;
  readonly redis?: string | undefined;
  readonly "redis-user"?: string | undefined;
  readonly "redis-password-file"?: string | undefined;
  readonly "redis-tls-ca"?: string | undefined;
  readonly "redis-tls-cert"?: string | undefined;
  readonly "redis-tls-key"?: string | undefined;
  readonly "redis-tls-servername"?: string | undefined;
  readonly "cluster-key-file"?: string | undefined;
  readonly data?: string | undefined;
  readonly "admin-port"?: string | undefined;
  readonly "client-port"?: string | undefined;
  readonly "client-host"?: string | undefined;
  readonly "admin-host"?: string | undefined;
  readonly "admin-token-file"?: string | undefined;
  readonly "log-level"?: string | undefined;
  readonly fsync?: string | undefined;
  readonly "test-mode"?: string | undefined;
  readonly config?: string | undefined;
}

/** flag -> env var -> config file key. */
const SETTINGS = {
  id: { env: "CORRAL_ID", file: "id" },
  peers: { env: "CORRAL_PEERS", file: "peers" },
  cluster: { env: "CORRAL_CLUSTER", file: "cluster" },
  redis: { env: "CORRAL_REDIS", file: "redis" },
  "redis-user": { env: "CORRAL_REDIS_USER", file: "redisUser" },
  "redis-password-file": { env: "CORRAL_REDIS_PASSWORD_FILE", file: "redisPasswordFile" },
  "redis-tls-ca": { env: "CORRAL_REDIS_TLS_CA", file: "redisTlsCa" },
  "redis-tls-cert": { env: "CORRAL_REDIS_TLS_CERT", file: "redisTlsCert" },
  "redis-tls-key": { env: "CORRAL_REDIS_TLS_KEY", file: "redisTlsKey" },
  "redis-tls-servername": { env: "CORRAL_REDIS_TLS_SERVERNAME", file: "redisTlsServername" },
  "cluster-key-file": { env: "CORRAL_CLUSTER_KEY_FILE", file: "clusterKeyFile" },
  data: { env: "CORRAL_DATA", file: "data" },
  "admin-port": { env: "CORRAL_ADMIN_PORT", file: "adminPort" },
  "client-port": { env: "CORRAL_CLIENT_PORT", file: "clientPort" },
  "client-host": { env: "CORRAL_CLIENT_HOST", file: "clientHost" },
  "admin-host": { env: "CORRAL_ADMIN_HOST", file: "adminHost" },
  "admin-token-file": { env: "CORRAL_ADMIN_TOKEN_FILE", file: "adminTokenFile" },
  "log-level": { env: "CORRAL_LOG_LEVEL", file: "logLevel" },
  fsync: { env: "CORRAL_FSYNC", file: "fsync" },
  "test-mode": { env: "CORRAL_TEST_MODE", file: "testMode" },
} as const;
type Setting = keyof typeof SETTINGS;

/** NodeConfig tuning fields a config file may set (checked by resolveNodeConfig). */
const TUNING_FIELDS = [
  "tickMs",
  "electionTicks",
  "heartbeatTicks",
  "minSessionTimeoutMs",
  "maxSessionTimeoutMs",
  "maxOutstandingPerSession",
  "maxConnections",
  "maxNewSessionsPerSecond",
  "maxSessions",
  "maxFrameBytes",
  "forwardRetryMs",
  "snapshotEveryEntries",
  "maxWaitingReads",
] as const satisfies readonly (keyof NodeConfig)[];

export const CONFIG_FILE_KEYS: readonly string[] = [...Object.values(SETTINGS).map((setting) => setting.file), ...TUNING_FIELDS];

/** Largest config file we read (a bound on input). */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

interface Found {
  readonly value: unknown;
  readonly source: string;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${file}`, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  if (text.length > MAX_CONFIG_FILE_BYTES) throw new ConfigError(`config file ${file}`, `larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file}`, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file}`, "must be a JSON object");
  const record = parsed as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!CONFIG_FILE_KEYS.includes(key)) throw new ConfigError(`config file ${file}: ${key}`, `unknown key (known: ${CONFIG_FILE_KEYS.join(", ")})`);
  }
  return record;
}

function stringValue(found: Found): string {
  if (typeof found.value !== "string" || found.value.trim() === "") throw new ConfigError(found.source, "expected a non-empty string");
  return found.value.trim();
}

function portValue(found: Found): number {
  const value = typeof found.value === "string" && /^\d+$/.test(found.value.trim()) ? Number(found.value) : found.value;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(found.source, `expected a port number 0-65535, got ${JSON.stringify(found.value)}`);
  }
  return value;
}

function peersValue(found: Found): string[] {
  const list = typeof found.value === "string" ? found.value.split(",").map((peer) => peer.trim()) : found.value;
  if (!Array.isArray(list) || list.length === 0 || list.some((peer) => typeof peer !== "string" || peer === "")) {
    throw new ConfigError(found.source, "expected a comma-separated list of node ids (e.g. n1,n2,n3)");
  }
  return list as string[];
}

function redisUrlValue(found: Found): string {
  const text = stringValue(found);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(found.source, `"${text}" is not a URL (expected redis://host:port)`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new ConfigError(found.source, `"${text}" must start with redis:// or rediss://`);
  if (url.hostname === "") throw new ConfigError(found.source, `"${url.protocol}//..." has no host`);
  // A password in a URL ends up in `ps`, shell history, env dumps and logs: it belongs in a file.
  if (url.password !== "") throw new ConfigError(found.source, "the URL carries a password: put it in a file and give --redis-password-file FILE (CORRAL_REDIS_PASSWORD_FILE) instead");
  return text;
}

/** The Redis credential and TLS settings present (paths and a user name; the password stays in its file). */
function redisAuthValue(lookup: (setting: Setting) => Found | undefined): { redisAuth?: RedisAuthFiles } {
  const out: Record<string, string> = {};
  const fields = [
    ["redis-user", "user"],
    ["redis-password-file", "passwordFile"],
    ["redis-tls-ca", "tlsCaFile"],
    ["redis-tls-cert", "tlsCertFile"],
    ["redis-tls-key", "tlsKeyFile"],
    ["redis-tls-servername", "tlsServername"],
  ] as const satisfies readonly (readonly [Setting, keyof RedisAuthFiles])[];
  for (const [setting, field] of fields) {
    const found = lookup(setting);
    if (found !== undefined) out[field] = stringValue(found);
  }
  return Object.keys(out).length === 0 ? {} : { redisAuth: out as RedisAuthFiles };
}

export function resolveNodeCommandConfig(flags: NodeFlags, env: NodeJS.ProcessEnv): NodeCommandConfig {
  const configPath = flags.config ?? env["CORRAL_CONFIG"];
  const file = configPath === undefined || configPath === "" ? {} : readConfigFile(configPath);
  const fileLabel = configPath ?? "";

  const lookup = (setting: Setting): Found | undefined => {
    const flag = flags[setting];
    if (flag !== undefined) return { value: flag, source: `--${setting}` };
    const { env: envName, file: fileKey } = SETTINGS[setting];
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: envName };
    if (Object.prototype.hasOwnProperty.call(file, fileKey)) return { value: file[fileKey], source: `${fileLabel}: ${fileKey}` };
    return undefined;
  };
  const required = (setting: Setting): Found => {
    const found = lookup(setting);
    if (found === undefined) {
      const { env: envName, file: fileKey } = SETTINGS[setting];
      throw new ConfigError(`--${setting}`, `required (or set ${envName}, or "${fileKey}" in the config file)`);
    }
    return found;
  };

  const idFound = required("id");
  const peersFound = required("peers");
  const clusterFound = lookup("cluster");
  const nodeId = stringValue(idFound);
  const peers = peersValue(peersFound);
  const clusterName = clusterFound === undefined ? "corral" : stringValue(clusterFound);

  const tuning: Partial<Record<(typeof TUNING_FIELDS)[number], number>> = {};
  for (const field of TUNING_FIELDS) {
    if (Object.prototype.hasOwnProperty.call(file, field)) tuning[field] = file[field] as number;
  }
  try {
    resolveNodeConfig({ ...tuning, nodeId, peers, clusterName });
  } catch (error) {
    if (!(error instanceof InvalidNodeConfig)) throw error;
    // Say where the bad value came from, in the user's terms.
    const source =
      error.field === "nodeId" ? idFound.source : error.field === "peers" ? peersFound.source : error.field === "clusterName" ? (clusterFound?.source ?? "--cluster") : `${fileLabel}: ${error.field}`;
    throw new ConfigError(source, error.reason, { cause: error });
  }

  const dataFound = lookup("data");
  const keyFileFound = lookup("cluster-key-file");
  const portFound = lookup("admin-port");
  const clientPortFound = lookup("client-port");
  const clientHostFound = lookup("client-host");
  const hostFound = lookup("admin-host");
  const tokenFileFound = lookup("admin-token-file");
  const levelFound = lookup("log-level");
  const logLevel = levelFound === undefined ? "info" : stringValue(levelFound);
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError(levelFound!.source, `expected one of ${LOG_LEVELS.join(", ")}`);
  const fsyncFound = lookup("fsync");
  const fsync = fsyncFound === undefined ? "always" : stringValue(fsyncFound);
  if (fsync !== "always" && fsync !== "none") throw new ConfigError(fsyncFound!.source, `expected "always" or "none", got "${fsync}"`);
  const testModeFound = lookup("test-mode");
  const testMode = testModeFound === undefined ? false : testModeFound.value === true || testModeFound.value === "true" || testModeFound.value === "1";
  if (testModeFound !== undefined && !testMode && ![false, "false", "0"].includes(testModeFound.value as string)) {
    throw new ConfigError(testModeFound.source, "expected true or false");
  }
  return {
    nodeId,
    peers,
    clusterName,
    fsync,
    testMode,
    tuning,
    redisUrl: redisUrlValue(required("redis")),
    ...redisAuthValue(lookup),
    clusterKeyFile: keyFileFound === undefined ? null : stringValue(keyFileFound),
    dataDir: dataFound === undefined ? `.corral/${nodeId}` : stringValue(dataFound),
    adminHost: hostFound === undefined ? "127.0.0.1" : stringValue(hostFound),
    adminTokenFile: tokenFileFound === undefined ? null : stringValue(tokenFileFound),
    adminPort: portFound === undefined ? 0 : portValue(portFound),
    // A lone node takes ZooKeeper's port; members of an ensemble on one host would collide on it: any free port, logged.
    clientPort: clientPortFound !== undefined ? portValue(clientPortFound) : peers.length === 1 ? DEFAULT_CLIENT_PORT : 0,
    clientHost: clientHostFound === undefined ? "127.0.0.1" : stringValue(clientHostFound),
    logLevel: logLevel as LogLevelName,
  };
}
