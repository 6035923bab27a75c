/**
 * Credentials and TLS for the Redis connection (issue 13, docs/security.md).
 *
 * Secrets come from files only: a password file (never a flag, an env var's
 * value or a URL on a command line, where `ps`, shell history and logs see
 * it), TLS material as PEM files. `loadRedisAuth` turns the file paths into
 * ioredis options that travel next to the URL (`RedisConnectionOptions.redis`
 * with `redisUrl`); `redactRedisUrl` is what any log line or status shows.
 * `checkRedisCredentials` (redis-check-live.ts) tells a refused password or
 * certificate (a configuration error: fail now, clearly) from a Redis that is
 * merely down (the network is down: keep retrying).
 */
import { readFileSync, statSync } from "node:fs";
import type { RedisOptions } from "ioredis";

/** Where a Redis connection's credentials and TLS material come from (all paths; `user` is not a secret). */
export interface RedisAuthFiles {
  /** ACL user name (Redis 6+); default: the `default` user. */
  readonly user?: string | undefined;
  /** File whose first line is the password (AUTH). */
  readonly passwordFile?: string | undefined;
  /** PEM CA certificate(s) that sign the server's certificate (rediss:// only). */
  readonly tlsCaFile?: string | undefined;
  /** PEM client certificate for mutual TLS (with tlsKeyFile). */
  readonly tlsCertFile?: string | undefined;
  /** PEM private key of tlsCertFile. */
  readonly tlsKeyFile?: string | undefined;
  /** Server name to verify the certificate against (SNI), when it differs from the URL's host. */
  readonly tlsServername?: string | undefined;
}

/** A credentials or TLS file cannot be used, or the settings contradict each other. Nothing connected. */
export class RedisCredentialsUnusable extends Error {
  readonly _tag = "RedisCredentialsUnusable";
  readonly code = "REDIS_CREDENTIALS_UNUSABLE";
  constructor(
    /** Which setting: passwordFile, user, tlsCaFile, tlsCertFile, tlsKeyFile, tlsServername, redisUrl. */
    readonly field: keyof RedisAuthFiles | "redisUrl",
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`redis ${field}: ${reason}`, options);
    this.name = "RedisCredentialsUnusable";
  }
}

/** Redis refused the credentials (wrong password or user, no permission) or the TLS handshake failed. */
export class RedisAuthFailed extends Error {
  readonly _tag = "RedisAuthFailed";
  readonly code = "REDIS_AUTH_FAILED";
  constructor(
    /** The URL, redacted. */
    readonly url: string,
    readonly kind: "auth" | "tls",
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`redis ${url}: ${kind === "auth" ? "credentials refused" : "TLS handshake failed"}: ${reason}`, options);
    this.name = "RedisAuthFailed";
  }
}

/** Largest password file read. */
const MAX_PASSWORD_FILE_BYTES = 4096;
/** Largest PEM file read (a CA bundle is the largest expected). */
const MAX_PEM_FILE_BYTES = 1024 * 1024;
/** Redis ACL user names: no spaces or control characters; bounded. */
const USER_PATTERN = /^[\x21-\x7e]{1,128}$/;

export interface LoadedRedisAuth {
  /** ioredis options to pass with the URL (username, password, tls); {} when nothing is configured. */
  readonly options: RedisOptions;
  /** Things an operator should fix (a password file others may read). */
  readonly warnings: readonly string[];
}

function readBounded(field: keyof RedisAuthFiles, path: string, maxBytes: number): { text: string; mode: number } {
  try {
    const { mode, size } = statSync(path);
    if (size > maxBytes) throw new RedisCredentialsUnusable(field, `${path} is larger than ${maxBytes} bytes`);
    return { text: readFileSync(path, "utf8"), mode };
  } catch (error) {
    if (error instanceof RedisCredentialsUnusable) throw error;
    throw new RedisCredentialsUnusable(field, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** The password in a password file: its first line, without the line end. The message never shows the content. */
export function readRedisPasswordFile(path: string): { readonly password: string; readonly permissionWarning?: string } {
  const { text, mode } = readBounded("passwordFile", path, MAX_PASSWORD_FILE_BYTES);
  const password = (text.split(/\r?\n/)[0] ?? "").trim();
  if (password.length === 0) throw new RedisCredentialsUnusable("passwordFile", `${path} holds no password (its first line is empty)`);
  const permissionWarning = (mode & 0o077) !== 0 ? `redis password file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it` : undefined;
  return permissionWarning === undefined ? { password } : { password, permissionWarning };
}

function readPem(field: "tlsCaFile" | "tlsCertFile" | "tlsKeyFile", path: string): string {
  const { text } = readBounded(field, path, MAX_PEM_FILE_BYTES);
  if (!text.includes("-----BEGIN ")) throw new RedisCredentialsUnusable(field, `${path} is not a PEM file (no -----BEGIN line)`);
  return text;
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new RedisCredentialsUnusable("redisUrl", "not a URL", { cause: error });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new RedisCredentialsUnusable("redisUrl", "must start with redis:// or rediss://");
  return parsed;
}

/** Whether the URL carries a password (`redis://user:password@host`). */
export function redisUrlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return false;
  }
}

/**
 * The URL as it may be logged or shown: the password (and a query string,
 * which ioredis also reads options from) replaced by "***". A string that is
 * not a URL is shown as "<not a URL>", in case it is a secret pasted in the
 * wrong place.
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "<not a URL>";
  }
  if (parsed.password !== "") parsed.password = "***";
  if (parsed.search !== "") parsed.search = "?***";
  return parsed.toString();
}

/**
 * Reads the files and checks the combination: TLS settings need a rediss://
 * URL, a client certificate needs its key (and the other way round), and a
 * password may come from the URL or from a file, not both. Throws
 * RedisCredentialsUnusable naming the setting.
 */
export function loadRedisAuth(url: string, files: RedisAuthFiles = {}): LoadedRedisAuth {
  const parsed = parseUrl(url);
  const options: RedisOptions = {};
  const warnings: string[] = [];
  if (files.user !== undefined) {
    if (!USER_PATTERN.test(files.user)) throw new RedisCredentialsUnusable("user", "1-128 printable characters without spaces");
    if (parsed.username !== "") throw new RedisCredentialsUnusable("redisUrl", "names a user and so does the user setting: give it in one place");
    options.username = files.user;
  }
  if (files.passwordFile !== undefined) {
    if (parsed.password !== "") throw new RedisCredentialsUnusable("redisUrl", "carries a password and a password file is given too: keep it in the file only");
    const loaded = readRedisPasswordFile(files.passwordFile);
    options.password = loaded.password;
    if (loaded.permissionWarning !== undefined) warnings.push(loaded.permissionWarning);
  } else if (files.user !== undefined) {
    throw new RedisCredentialsUnusable("user", "a user needs its password file (--redis-password-file)");
  }
  const tlsGiven = files.tlsCaFile !== undefined || files.tlsCertFile !== undefined || files.tlsKeyFile !== undefined || files.tlsServername !== undefined;
  if (tlsGiven) {
    const field = files.tlsCaFile !== undefined ? "tlsCaFile" : files.tlsCertFile !== undefined ? "tlsCertFile" : files.tlsKeyFile !== undefined ? "tlsKeyFile" : "tlsServername";
    if (parsed.protocol !== "rediss:") throw new RedisCredentialsUnusable(field, "TLS settings need a rediss:// URL");
    if ((files.tlsCertFile === undefined) !== (files.tlsKeyFile === undefined)) throw new RedisCredentialsUnusable(files.tlsCertFile === undefined ? "tlsCertFile" : "tlsKeyFile", "a client certificate and its key go together");
    const tls: NonNullable<RedisOptions["tls"]> = {};
    if (files.tlsCaFile !== undefined) tls.ca = [readPem("tlsCaFile", files.tlsCaFile)];
    if (files.tlsCertFile !== undefined) tls.cert = readPem("tlsCertFile", files.tlsCertFile);
    if (files.tlsKeyFile !== undefined) tls.key = readPem("tlsKeyFile", files.tlsKeyFile);
    if (files.tlsServername !== undefined) {
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(files.tlsServername)) throw new RedisCredentialsUnusable("tlsServername", "a DNS name");
      tls.servername = files.tlsServername;
    }
    options.tls = tls;
  }
  return { options, warnings };
}

/**
 * Full ioredis options for a URL plus loaded credentials, for APIs that take
 * options only (the client's `connect({ redis })`). The URL must not carry a
 * password (loadRedisAuth has checked that when a file is used).
 */
export function redisOptionsFromUrl(url: string, extra: RedisOptions = {}): RedisOptions {
  const parsed = parseUrl(url);
  const options: RedisOptions = { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port === "" ? 6379 : Number(parsed.port) };
  if (parsed.username !== "") options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") options.password = decodeURIComponent(parsed.password);
  if (parsed.pathname.length > 1) options.db = Number(parsed.pathname.slice(1));
  if (parsed.protocol === "rediss:") options.tls = {};
  return { ...options, ...extra, ...(extra.tls !== undefined || options.tls !== undefined ? { tls: { ...options.tls, ...extra.tls } } : {}) };
}
