/**
 * Recipe invariants with fencing tokens (DESIGN §1): a resource guarded by a
 * lock remembers the highest token it accepted and refuses older ones. The
 * checker verifies the resource's log: accepted tokens never go backwards
 * (no stale token accepted), and one token never belongs to two holders.
 */
import type { Violations } from "./violation.js";

export interface FencedWrite {
  readonly holder: string;
  readonly token: number;
  readonly accepted: boolean;
  readonly atMs: number;
}

/**
 * The guarded resource, logged for the checker. `accept` decides (the recipes
 * package's FencedResource in the simulator); the default is the same rule:
 * refuse a token below the highest accepted. `ignoreTokens` plants the bug of a
 * resource that ignores fencing.
 */
export class FencedResource {
  readonly log: FencedWrite[] = [];
  private highest = -1;
  constructor(
    private readonly ignoreTokens = false,
    private readonly accept: (token: number) => boolean = (token) => token >= this.highest,
  ) {}

  write(holder: string, token: number, atMs: number): boolean {
    const accepted = this.ignoreTokens || this.accept(token);
    if (accepted) this.highest = Math.max(this.highest, token);
    this.log.push({ holder, token, accepted, atMs });
    return accepted;
  }
}

export function checkFencing(log: readonly FencedWrite[], violations: Violations): number {
  let highest = -1;
  const holderOf = new Map<number, string>();
  for (const write of log) {
    const owner = holderOf.get(write.token);
    if (owner === undefined) holderOf.set(write.token, write.holder);
    else if (owner !== write.holder) violations.add("fencing", `token ${write.token} used by two holders: ${owner} and ${write.holder}`);
    if (!write.accepted) continue;
    if (write.token < highest) violations.add("fencing", `stale token ${write.token} from ${write.holder} accepted after token ${highest} at ${write.atMs} ms`);
    highest = Math.max(highest, write.token);
  }
  return log.length;
}
