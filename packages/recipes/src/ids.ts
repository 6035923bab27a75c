/**
 * Naming service / global ids: a sequential node under `<root>/<type>` names
 * each id, e.g. `/ids/type2/job-0000000001` -> "type2-job-0000000001". The
 * parent's sequence counter never repeats, so the nodes are deleted right
 * after (ids stay unique, the tree stays small). An id whose create reply was
 * lost is skipped (a gap), never handed out twice.
 */
import type { Client } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { ensurePath, isUnknownOutcome, joinPath, lastSegment, sessionSource, validateRecipePath, validateSegment, type RecipeEnv, type SessionSource } from "./common.js";
import { InvalidRecipeArgument, RetriesExhausted } from "./errors.js";
import { liveRecipeEnv } from "./env-live.js";

export interface IdAllocatorOptions {
  /** Root of the id types (default "/ids"). */
  readonly root?: string;
  /** Largest batch (default 1,000). */
  readonly maxBatch?: number;
  /** Attempts per allocation when the outcome is unknown (default 5). */
  readonly maxAttempts?: number;
  /** Keep the id nodes instead of deleting them (an audit trail). */
  readonly keepNodes?: boolean;
}

export class IdAllocator {
  private readonly sessions: SessionSource;
  private readonly root: string;
  private readonly maxBatch: number;
  private readonly maxAttempts: number;
  private readonly prepared = new WeakMap<Client, Set<string>>();

  constructor(client: Client | SessionSource, private readonly env: RecipeEnv = liveRecipeEnv(), private readonly options: IdAllocatorOptions = {}) {
    this.sessions = sessionSource(client);
    this.root = options.root ?? "/ids";
    validateRecipePath("root", this.root);
    this.maxBatch = options.maxBatch ?? 1_000;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  private async parent(client: Client, type: string): Promise<string> {
    const path = joinPath(this.root, type);
    let done = this.prepared.get(client);
    if (done === undefined) this.prepared.set(client, (done = new Set()));
    if (!done.has(type)) {
      await ensurePath(client, path);
      done.add(type);
    }
    return path;
  }

  /** One id: `<type>-<prefix>-<10 digits>`. */
  async allocate(type: string, prefix = "job"): Promise<string> {
    const [id] = await this.allocateBatch(type, 1, prefix);
    return id!;
  }

  /** `count` ids in one multi (one round trip, one zxid), in increasing order. */
  async allocateBatch(type: string, count: number, prefix = "job"): Promise<string[]> {
    validateSegment("type", type);
    validateSegment("prefix", prefix);
    if (!Number.isSafeInteger(count) || count < 1 || count > this.maxBatch) throw new InvalidRecipeArgument("count", `must be 1..${this.maxBatch}`);
    const client = this.sessions.current();
    const parent = await this.parent(client, type);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const builder = client.multi();
        for (let i = 0; i < count; i++) builder.create(joinPath(parent, `${prefix}-`), new Uint8Array(0), { mode: CreateMode.PersistentSequential });
        const results = await builder.commit();
        const paths = results.flatMap((r) => (r.type === "create" ? [r.path] : []));
        if (this.options.keepNodes !== true) {
          const cleanup = client.multi();
          for (const path of paths) cleanup.delete(path);
          await cleanup.commit().catch((error: unknown) => this.env.logger?.warn({ error }, "id node cleanup failed"));
        }
        return paths.map((p) => `${type}-${lastSegment(p)}`);
      } catch (error) {
        lastError = error;
        // An unknown outcome may have used some sequence numbers: they become gaps, never duplicates.
        if (!isUnknownOutcome(error)) throw error;
      }
    }
    throw new RetriesExhausted(`allocate ${type} ids`, this.maxAttempts, { cause: lastError });
  }
}

