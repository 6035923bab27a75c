/**
 * ACL helpers shared by client and tree. Hashing is deterministic, so the
 * protocol package stays free of I/O.
 */
import { createHash } from "node:crypto";
import type { ACL, Id } from "./types.js";
import { Perms } from "./types.js";

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
