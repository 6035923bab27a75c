/**
 * ZooKeeper's textual ACL syntax, as zkCli reads and writes it:
 * `scheme:id:perms[,scheme:id:perms...]`, perms from the letters c d r w a
 * (e.g. `world:anyone:cdrwa,digest:u:hash:r`). The id is everything between the
 * first and the last colon, since digest ids contain one. Pure.
 */
import { Perms, type ACL } from "@corral/protocol";

export class AclSyntaxError extends Error {
  readonly _tag = "AclSyntaxError" as const;
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`bad ACL "${text}": ${reason}`);
    this.name = "AclSyntaxError";
  }
}

const PERM_LETTERS: readonly (readonly [string, number])[] = [
  ["c", Perms.CREATE],
  ["d", Perms.DELETE],
  ["r", Perms.READ],
  ["w", Perms.WRITE],
  ["a", Perms.ADMIN],
];

/** Entries one setAcl may carry (a bound on input). */
export const MAX_ACL_ENTRIES = 64;

export function parsePerms(text: string, whole: string): number {
  let perms = 0;
  for (const letter of text) {
    const entry = PERM_LETTERS.find(([l]) => l === letter);
    if (entry === undefined) throw new AclSyntaxError(whole, `unknown permission "${letter}" (use c d r w a)`);
    perms |= entry[1];
  }
  if (text.length === 0) throw new AclSyntaxError(whole, "no permissions (use some of c d r w a)");
  return perms;
}

export function formatPerms(perms: number): string {
  return PERM_LETTERS.filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join("");
}

export function parseAcl(text: string): ACL[] {
  const parts = text.split(",");
  if (parts.length > MAX_ACL_ENTRIES) throw new AclSyntaxError(text, `more than ${MAX_ACL_ENTRIES} entries`);
  return parts.map((part) => {
    const first = part.indexOf(":");
    const last = part.lastIndexOf(":");
    if (first <= 0 || last === first) throw new AclSyntaxError(part, "expected scheme:id:perms");
    const scheme = part.slice(0, first);
    const id = part.slice(first + 1, last);
    return { id: { scheme, id }, perms: parsePerms(part.slice(last + 1), part) };
  });
}

export function formatAcl(acl: readonly ACL[]): string {
  return acl.map((entry) => `${entry.id.scheme}:${entry.id.id}:${formatPerms(entry.perms)}`).join(",");
}
