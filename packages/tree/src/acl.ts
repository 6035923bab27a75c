/**
 * ACL storage and checks, as ZooKeeper's ACLCache / checkACL / fixupACL.
 * Nodes share interned ACL lists (most nodes use one of a handful of lists).
 */
import type { ACL, Id } from "@corral/protocol";
import { Perms, aclKey, isValidPerms } from "@corral/protocol";
import { hashString } from "./digest.js";

export interface AclEntry {
  readonly key: string;
  readonly acl: readonly ACL[];
  references: number;
}

export class AclCache {
  private readonly byKey = new Map<string, AclEntry>();

  /** Interns an ACL list and takes a reference to it. */
  acquire(acl: readonly ACL[]): AclEntry {
    const key = aclKey(acl);
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      entry = { key, acl: Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ scheme: a.id.scheme, id: a.id.id }) }))), references: 0 };
      this.byKey.set(key, entry);
    }
    entry.references++;
    return entry;
  }

  release(entry: AclEntry): void {
    entry.references--;
    if (entry.references <= 0) this.byKey.delete(entry.key);
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** Feeds an ACL into the running hash. */
export function hashAcl(entry: AclEntry): void {
  hashString(entry.key);
}

export interface AuthContext {
  readonly auth: readonly Id[];
  /** The configured super digest ("super:base64sha1"); a caller holding it bypasses every check. */
  readonly superDigest: string | undefined;
}

export function isSuper(context: AuthContext): boolean {
  if (context.superDigest === undefined) return false;
  for (const id of context.auth) if (id.scheme === "digest" && id.id === context.superDigest) return true;
  return false;
}

/** ZooKeeper's checkACL: an empty ACL allows all; otherwise one entry with `perm` must match the caller. */
export function permitted(acl: readonly ACL[], perm: number, context: AuthContext): boolean {
  if (acl.length === 0) return true;
  if (isSuper(context)) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.id.scheme === "world" && entry.id.id === "anyone") return true;
    for (const id of context.auth) if (id.scheme === entry.id.scheme && id.id === entry.id.id) return true;
  }
  return false;
}

function validDigestId(id: string): boolean {
  // Java's id.split(":").length == 2 (trailing empty parts dropped).
  const parts = id.split(":");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts.length === 2;
}

/**
 * ZooKeeper's fixupACL: rejects empty or malformed lists, expands the "auth"
 * scheme into the caller's authenticated (digest) ids, and removes duplicates.
 * Returns undefined for an invalid ACL.
 */
export function fixupAcl(acl: readonly ACL[], auth: readonly Id[], maxEntries: number): ACL[] | undefined {
  if (acl.length === 0 || acl.length > maxEntries) return undefined;
  const only = acl[0]!;
  // Fast path for the common OPEN_ACL_UNSAFE-like list.
  if (acl.length === 1 && only.id.scheme === "world" && only.id.id === "anyone" && isValidPerms(only.perms)) return acl as ACL[];
  const out: ACL[] = [];
  const seen = new Set<string>();
  const push = (entry: ACL): void => {
    const key = aclKey([entry]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(entry);
  };
  for (const entry of acl) {
    if (!isValidPerms(entry.perms)) return undefined;
    const { scheme, id } = entry.id;
    if (scheme === "world") {
      if (id !== "anyone") return undefined;
      push(entry);
    } else if (scheme === "auth") {
      let any = false;
      for (const callerId of auth) {
        if (callerId.scheme !== "digest") continue;
        any = true;
        push({ perms: entry.perms, id: { scheme: callerId.scheme, id: callerId.id } });
      }
      if (!any) return undefined;
    } else if (scheme === "digest") {
      if (!validDigestId(id)) return undefined;
      push(entry);
    } else {
      return undefined;
    }
  }
  return out;
}

/** getACL for a caller without ADMIN: digest credentials are redacted, as ZooKeeper does. */
export function redactAcl(acl: readonly ACL[]): ACL[] {
  return acl.map((entry) => {
    if (entry.id.scheme !== "digest") return entry;
    const colon = entry.id.id.indexOf(":");
    return { perms: entry.perms, id: { scheme: "digest", id: `${colon < 0 ? entry.id.id : entry.id.id.slice(0, colon)}:x` } };
  });
}

export const READ_OR_ADMIN = Perms.READ | Perms.ADMIN;

