/**
 * Checks on what clients send, kept out of the sessions actor so that every
 * client front end (the session protocol, a ZooKeeper-wire listener) applies
 * the same rules: typed errors, explicit bounds, nothing thrown.
 *
 * The rule behind `checkProposable`: every entry is checked at propose time
 * against exactly the limits that apply when a replica decodes it, by running
 * it through the entry codec itself. A request that fails is answered with a
 * typed error and never proposed, so no client input can commit an entry that
 * a replica cannot apply.
 */
import {
  BadArgumentsError,
  LimitExceededError,
  MAX_AUTH_IDS_PER_SESSION,
  digestIdentityFromCredentials,
  idEquals,
  type CorralError,
  type Id,
  type Txn,
  type WriteOp,
} from "@corral/protocol";
import { EntryRefused, encodeCheckedEntryData } from "./entry-data.js";

/**
 * The connection's identities plus the one `scheme`/`credentials` grant.
 * AuthFailed for unsupported or malformed credentials, LimitExceeded for an
 * id longer than the entry codec accepts or for more than `maxAuthIds`
 * identities. An identity the connection already holds is not added twice
 * (ZooKeeper's addAuthInfo), so repeating an addAuth never hits the bound.
 */
export function addAuthIdentity(current: readonly Id[], scheme: string, credentials: string, maxAuthIds: number = MAX_AUTH_IDS_PER_SESSION): readonly Id[] | CorralError {
  const id = digestIdentityFromCredentials(scheme, credentials);
  if (id instanceof Error) return id;
  if (current.some((held) => idEquals(held, id))) return current;
  if (current.length >= maxAuthIds) return new LimitExceededError(undefined, { cause: `at most ${maxAuthIds} identities per session` });
  return [...current, id];
}

/** The identities of a connect request's credentials (see addAuthIdentity). */
export function connectIdentities(auth: readonly { readonly scheme: string; readonly credentials: string }[], maxAuthIds: number = MAX_AUTH_IDS_PER_SESSION): readonly Id[] | CorralError {
  let ids: readonly Id[] = [];
  for (const entry of auth) {
    const next = addAuthIdentity(ids, entry.scheme, entry.credentials, maxAuthIds);
    if (!Array.isArray(next)) return next as CorralError;
    ids = next;
  }
  return ids;
}

/** The latest wall time a leader can stamp: entries are checked at their longest. */
const LONGEST_TIME_MS = Number.MAX_SAFE_INTEGER;

function opPath(op: WriteOp): string | undefined {
  if (op.type !== "multi") return op.path.length > 200 ? `${op.path.slice(0, 200)}...` : op.path;
  return undefined;
}

/**
 * Would this txn, proposed by a leader, decode on every replica and fit in an
 * entry? undefined if so; otherwise the client's typed error: LimitExceeded
 * for a size limit (data, path, ACL or id length, list lengths, the whole
 * entry), BadArguments for anything else the codec refuses.
 */
export function checkProposable(txn: Txn, maxEntryBytes: number): CorralError | undefined {
  const checked = encodeCheckedEntryData({ timeMs: LONGEST_TIME_MS, txn }, maxEntryBytes);
  if (!(checked instanceof EntryRefused)) return undefined;
  const path = txn.type === "request" ? opPath(txn.op) : undefined;
  const cause = `refused before proposing: ${checked.reason}`;
  return checked.overLimit ? new LimitExceededError(path, { cause }) : new BadArgumentsError(path, { cause });
}

/**
 * Counts failures per key in fixed windows: `exhausted` once a key has
 * `maxFailures` failures in its current window. At most `maxKeys` keys are
 * tracked (the oldest window is forgotten first), so memory stays bounded
 * whatever a client sends.
 */
export class FailureWindows {
  private readonly windows = new Map<string, { since: number; failures: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  exhausted(key: string, now: number): boolean {
    const window = this.windows.get(key);
    if (window === undefined) return false;
    if (now - window.since >= this.windowMs) {
      this.windows.delete(key);
      return false;
    }
    return window.failures >= this.maxFailures;
  }

  record(key: string, now: number): void {
    let window = this.windows.get(key);
    if (window === undefined || now - window.since >= this.windowMs) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      window = { since: now, failures: 0 };
      this.windows.set(key, window);
    }
    window.failures++;
  }

  get size(): number {
    return this.windows.size;
  }
}
