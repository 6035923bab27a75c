/**
 * ACL helpers shared by client and tree. Hashing is deterministic, so the
 * protocol package stays free of I/O.
 */
import { createHash } from "node:crypto";
import { defaultCodecLimits, type CodecLimits } from "./codec.js";
import { AuthFailedError, LimitExceededError } from "./errors.js";
import type { ACL, Id } from "./types.js";
import { Perms } from "./types.js";

/**
 * Identities one session may hold (addAuth and connect credentials together).
 * Every write carries them in its Raft entry, so the bound keeps entries small
 * and well inside the entry codec's `maxAuthIds`.
 */
export const MAX_AUTH_IDS_PER_SESSION = 16;
/** Longest "user:password" accepted by addAuth and connect. */
export const MAX_CREDENTIALS_LENGTH = 1024;
/** Length of the base64 SHA-1 a digest id carries after "user:". */
const DIGEST_HASH_LENGTH = 28;

/**
 * The identity `addAuth("digest", credentials)` grants, checked against the
 * limits the entry codec enforces when a replica decodes the entry that
 * carries it: AuthFailed for anything that is not "user:password" (ZooKeeper's
 * answer to bad credentials), LimitExceeded when the derived id would be
 * longer than the codec's `maxIdLength`. Never throws.
 */
export function digestIdentityFromCredentials(scheme: string, credentials: string, limits: CodecLimits = defaultCodecLimits): Id | AuthFailedError | LimitExceededError {
  if (scheme !== "digest") return new AuthFailedError(undefined, { cause: `scheme ${JSON.stringify(scheme.slice(0, 64))} is not supported: only digest "user:password"` });
  const colon = credentials.indexOf(":");
  if (colon <= 0) return new AuthFailedError(undefined, { cause: "digest credentials must be \"user:password\"" });
  if (credentials.length > MAX_CREDENTIALS_LENGTH) return new LimitExceededError(undefined, { cause: `credentials longer than ${MAX_CREDENTIALS_LENGTH} characters` });
  const idLength = colon + 1 + DIGEST_HASH_LENGTH;
  if (idLength > limits.maxIdLength) {
    return new LimitExceededError(undefined, { cause: `digest user name of ${colon} characters makes an id longer than ${limits.maxIdLength}` });
  }
  return digestIdentity(credentials.slice(0, colon), credentials.slice(colon + 1));
}

/**
 * Random bytes in a session secret: 128 bits, the design's minimum, and
 * exactly ZooKeeper's 16-byte session password, so every session can be
 * resumed over either transport (Redis channel or the ZooKeeper client port).
 */
export const SESSION_SECRET_BYTES = 16;

/** What the session table keeps of a secret: SHA-256, lowercase hex. Deterministic, so every replica agrees. */
export function hashSessionSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** ZooKeeper's DigestAuthenticationProvider: `user:base64(sha1("user:password"))`. */
export function digestId(user: string, password: string): string {
  const hash = createHash("sha1").update(`${user}:${password}`, "utf8").digest("base64");
  return `${user}:${hash}`;
}

/** The digest identity a client authenticates as (`addAuth("digest", "user:password")`). */
export function digestIdentity(user: string, password: string): Id {
  return { scheme: "digest", id: digestId(user, password) };
}

/** True if `perms` is a valid permission mask (a subset of ALL). */
export function isValidPerms(perms: unknown): perms is number {
  return typeof perms === "number" && Number.isInteger(perms) && perms >= 0 && perms <= Perms.ALL;
}

/** Canonical text of an ACL list, for equality and caching. */
export function aclKey(acl: readonly ACL[]): string {
  let key = "";
  for (const entry of acl) key += `${entry.perms}|${entry.id.scheme}|${entry.id.id.length}|${entry.id.id};`;
  return key;
}

export function idEquals(a: Id, b: Id): boolean {
  return a.scheme === b.scheme && a.id === b.id;
}
