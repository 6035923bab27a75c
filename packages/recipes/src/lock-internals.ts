/**
 * The sequential-node queue behind every lock, lease and latch: create an
 * ephemeral-sequential node in protected mode (its name carries a per-attempt
 * guid, so a create whose reply was lost is found again by listing the
 * children), then decide from the sorted children whether we hold it, and if
 * not watch exactly the one node whose deletion can change that.
 */
import type { Client } from "@corral/client";
import { CreateMode, type Stat } from "@corral/protocol";
import type { Deadline, RecipeEnv, SessionSource } from "./common.js";
import { deleteQuietly, ensurePath, isUnknownOutcome, joinPath, lastSegment, makeGuid, sortBySequence, tagOf, toBytes } from "./common.js";
import { RetriesExhausted, SessionLost, invariant } from "./errors.js";

export const PROTECTED_PREFIX = "_c_";

/** What the sorted children say about our node. */
export type LockDecision =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly watch: string }
  | { readonly acquired: false; readonly watchChildren: true };

/** Decides from the sorted lock children (names only) and our index in them. */
export type LockDriver = (sorted: readonly string[], ourIndex: number) => LockDecision;

export interface CreatedNode {
  readonly path: string;
  readonly stat: Stat;
}

/**
 * Create `${base}/_c_<guid>-<name>` (sequential, ephemeral by default),
 * recovering a lost reply by looking for the guid among the children.
 */
export async function createProtected(
  client: Client,
  env: RecipeEnv,
  base: string,
  name: string,
  data: Uint8Array | string,
  options: { readonly mode?: CreateMode; readonly maxAttempts?: number } = {},
): Promise<CreatedNode> {
  const guid = makeGuid(env.random);
  const prefix = `${PROTECTED_PREFIX}${guid}-`;
  const maxAttempts = options.maxAttempts ?? 10;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const created = await client.create(joinPath(base, prefix + name), toBytes(data), { mode: options.mode ?? CreateMode.EphemeralSequential });
      return { path: created.path, stat: created.stat };
    } catch (error) {
      lastError = error;
      if (tagOf(error) === "NoNode") {
        await ensurePath(client, base);
        continue;
      }
      if (!isUnknownOutcome(error)) throw error;
      // The reply was lost: the node may exist. Find it by its guid.
      const found = await findByPrefix(client, base, prefix);
      if (found !== undefined) return found;
    }
  }
  throw new RetriesExhausted(`create ${base}/${name}`, maxAttempts, { cause: lastError });
}

async function findByPrefix(client: Client, base: string, prefix: string): Promise<CreatedNode | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const { children } = await client.getChildren(base);
      const name = children.find((c) => c.startsWith(prefix));
      if (name === undefined) return undefined;
      const path = joinPath(base, name);
      const stat = await client.exists(path);
      return stat === null ? undefined : { path, stat };
    } catch (error) {
      if (!isUnknownOutcome(error)) throw error;
    }
  }
  return undefined;
}

/** Children of `base` that are lock nodes (have a sequence suffix), sorted by sequence. */
export async function sortedLockChildren(client: Client, base: string, filter: (name: string) => boolean = () => true): Promise<string[]> {
  const { children } = await client.getChildren(base);
  return sortBySequence(children.filter(filter));
}

/** Watch-event counter a test can read (how many wake-ups the waits saw). */
export interface LockWaitStats {
  wakeups: number;
}

/**
 * Run the wait loop for an already-created node until the driver says we hold
 * it. Fails with the deadline's error (the caller deletes the node) or with
 * SessionLost if our node disappeared (its session expired).
 */
export async function waitForTurn(
  client: Client,
  base: string,
  ourPath: string,
  driver: LockDriver,
  deadline: Deadline,
  filter: (name: string) => boolean,
  stats?: LockWaitStats,
): Promise<void> {
  const ourName = lastSegment(ourPath);
  for (;;) {
    deadline.check();
    const sorted = await sortedLockChildren(client, base, filter);
    const ourIndex = sorted.indexOf(ourName);
    if (ourIndex < 0) throw new SessionLost(`lock node ${ourPath} is gone`);
    const decision = driver(sorted, ourIndex);
    if (decision.acquired) return;
    let fired = false;
    let wake: (() => void) | undefined;
    const watcher = (): void => {
      fired = true;
      if (stats !== undefined) stats.wakeups++;
      wake?.();
    };
    // Wake also when the session ends, so the loop fails promptly instead of waiting for the deadline.
    const unsubscribe = client.on("state", (change) => {
      if (change.state === "expired" || change.state === "closed") {
        fired = true;
        wake?.();
      }
    });
    try {
      if ("watch" in decision) {
        invariant(decision.watch !== ourName, "a lock node must not wait on itself");
        const stat = await client.exists(joinPath(base, decision.watch), { watch: watcher });
        if (stat === null) continue; // it went away between the list and the watch
      } else {
        const { children } = await client.getChildren(base, { watch: watcher });
        const now = sortBySequence(children.filter(filter));
        if (now.length !== sorted.length || now.some((n, i) => n !== sorted[i])) continue;
      }
      if (!fired) {
        await deadline.sleep((w) => {
          wake = w;
          if (fired) w();
        });
      }
      if (client.state === "expired" || client.state === "closed") throw new SessionLost(`waiting for ${ourPath}`);
    } finally {
      unsubscribe();
    }
  }
}

/** One acquisition attempt end to end: create, wait, clean up on failure. */
export async function acquireNode(
  sessions: SessionSource,
  env: RecipeEnv,
  base: string,
  name: string,
  driver: LockDriver,
  deadline: Deadline,
  filter: (name: string) => boolean,
  options: { readonly data?: Uint8Array | string; readonly stats?: LockWaitStats } = {},
): Promise<CreatedNode & { readonly client: Client }> {
  deadline.check();
  const client = sessions.current();
  const created = await createProtected(client, env, base, name, options.data ?? new Uint8Array(0));
  try {
    await waitForTurn(client, base, created.path, driver, deadline, filter, options.stats);
    return { ...created, client };
  } catch (error) {
    await deleteQuietly(client, created.path, env.logger);
    throw error;
  }
}
