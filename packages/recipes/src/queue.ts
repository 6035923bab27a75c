/**
 * Queues on sequential nodes. An item is `<path>/items/_c_<guid>-item-<seq>`
 * (protected mode: a put whose reply was lost is found by its guid, so a
 * retry never enqueues twice).
 *
 * Safe consumption: take moves the head into a receipt named for the consumer
 * in one multi, `delete(item) + create(<path>/taken/<consumer>-<item>, data)`.
 * Only the consumer whose multi applied owns the item; it then deletes its
 * receipt and returns the data. If any step's outcome is unknown (lost reply,
 * timeout, expiry) the receipt stays, and the consumer's next take returns it
 * first: no item is lost, and none is returned twice (the receipt is deleted
 * before the item is handed out, and only its owner deletes it).
 */
import type { Client } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { Deadline, deleteDefinitely, ensurePath, isUnknownOutcome, joinPath, makeGuid, sequenceOf, sessionSource, tagOf, validateRecipePath, validateSegment, type RecipeEnv, type SessionSource, type WaitOptions } from "./common.js";
import { InvalidRecipeArgument, RecipeLimitExceeded } from "./errors.js";
import { createProtected } from "./lock-internals.js";
import { liveRecipeEnv } from "./env-live.js";

export interface QueueOptions {
  /** Stable id of this consumer (receipts are named for it); default a random id. Use a stable one to recover receipts after a restart. */
  readonly consumerId?: string;
  /** put() fails with RecipeLimitExceeded at this many items (checked before the put; default 100,000). */
  readonly maxItems?: number;
  /** Heads tried per take round before re-listing (default 16). */
  readonly maxHeadsPerRound?: number;
}

interface SortKey {
  readonly primary: number;
  readonly sequence: number;
}

abstract class SequentialQueue {
  protected readonly sessions: SessionSource;
  readonly itemsPath: string;
  readonly takenPath: string;
  readonly consumerId: string;
  private readonly maxItems: number;
  private readonly maxHeadsPerRound: number;
  private prepared: Client | undefined;

  constructor(client: Client | SessionSource, readonly path: string, protected readonly env: RecipeEnv, options: QueueOptions) {
    validateRecipePath("path", path);
    this.sessions = sessionSource(client);
    this.itemsPath = joinPath(path, "items");
    this.takenPath = joinPath(path, "taken");
    this.consumerId = options.consumerId ?? makeGuid(env.random, 12);
    validateSegment("consumerId", this.consumerId);
    if (this.consumerId.includes("-")) throw new InvalidRecipeArgument("consumerId", "must not contain '-'");
    this.maxItems = options.maxItems ?? 100_000;
    this.maxHeadsPerRound = options.maxHeadsPerRound ?? 16;
  }

  protected abstract keyOf(name: string): SortKey | undefined;

  protected async client(): Promise<Client> {
    const client = this.sessions.current();
    if (this.prepared !== client) {
      await ensurePath(client, this.itemsPath);
      await ensurePath(client, this.takenPath);
      this.prepared = client;
    }
    return client;
  }

  protected async putNamed(name: string, data: Uint8Array | string): Promise<string> {
    const client = await this.client();
    const stat = await client.exists(this.itemsPath);
    if (stat !== null && stat.numChildren >= this.maxItems) throw new RecipeLimitExceeded("queue maxItems", this.maxItems);
    const created = await createProtected(client, this.env, this.itemsPath, name, data, { mode: CreateMode.PersistentSequential });
    return created.path;
  }

  private sorted(children: readonly string[]): string[] {
    const keyed = children.map((name) => ({ name, key: this.keyOf(name) })).filter((e): e is { name: string; key: SortKey } => e.key !== undefined);
    keyed.sort((a, b) => a.key.primary - b.key.primary || a.key.sequence - b.key.sequence);
    return keyed.map((e) => e.name);
  }

  /** Items waiting (not counting taken receipts). */
  async size(): Promise<number> {
    const client = await this.client();
    return (await client.getChildren(this.itemsPath)).children.length;
  }

  /** The head's data without taking it, or undefined when empty. */
  async peek(): Promise<Uint8Array | undefined> {
    const client = await this.client();
    for (const name of this.sorted((await client.getChildren(this.itemsPath)).children)) {
      try {
        return (await client.getData(joinPath(this.itemsPath, name))).data;
      } catch (error) {
        if (tagOf(error) !== "NoNode") throw error;
      }
    }
    return undefined;
  }

  /** Take the head, waiting for one if empty (timeout / abort). */
  async take(options: WaitOptions = {}): Promise<Uint8Array> {
    const deadline = new Deadline(this.env.clock, `take from ${this.path}`, options);
    for (;;) {
      deadline.check();
      const taken = await this.tryTake();
      if (taken !== undefined) return taken;
      const client = await this.client();
      await deadline.sleep((wake) => {
        let armed = true;
        void client
          .getChildren(this.itemsPath, { watch: () => wake() })
          .then(({ children }) => {
            if (armed && children.length > 0) wake();
          })
          .catch(() => wake());
        return () => {
          armed = false;
        };
      });
    }
  }

  /** Take the head if there is one, else undefined (no wait). */
  async poll(): Promise<Uint8Array | undefined> {
    return this.tryTake();
  }

  private async tryTake(): Promise<Uint8Array | undefined> {
    const client = await this.client();
    // 1. A receipt left by an earlier take whose outcome was unknown.
    const receipts = (await client.getChildren(this.takenPath)).children.filter((n) => n.startsWith(`${this.consumerId}-`));
    const receipt = this.sorted(receipts.map((n) => n.slice(this.consumerId.length + 1)))[0];
    if (receipt !== undefined) return this.claimReceipt(client, joinPath(this.takenPath, `${this.consumerId}-${receipt}`));
    // 2. Move a head item into our receipt.
    const heads = this.sorted((await client.getChildren(this.itemsPath)).children).slice(0, this.maxHeadsPerRound);
    for (const name of heads) {
      const itemPath = joinPath(this.itemsPath, name);
      let data: Uint8Array;
      try {
        data = (await client.getData(itemPath)).data;
      } catch (error) {
        if (tagOf(error) === "NoNode") continue;
        throw error;
      }
      const receiptPath = joinPath(this.takenPath, `${this.consumerId}-${name}`);
      try {
        await client.multi().delete(itemPath).create(receiptPath, data, { mode: CreateMode.Persistent }).commit();
      } catch (error) {
        const tag = tagOf(error);
        if (tag === "NoNode") continue; // another consumer took it
        if (tag === "NodeExists") return this.claimReceipt(client, receiptPath); // our earlier attempt applied
        if (isUnknownOutcome(error)) return undefined; // the receipt check of the next round decides
        throw error;
      }
      return this.claimReceipt(client, receiptPath, data);
    }
    return undefined;
  }

  private async claimReceipt(client: Client, receiptPath: string, known?: Uint8Array): Promise<Uint8Array | undefined> {
    let data = known;
    if (data === undefined) {
      try {
        data = (await client.getData(receiptPath)).data;
      } catch (error) {
        if (tagOf(error) === "NoNode") return undefined;
        throw error;
      }
    }
    // Delete before handing out: if this fails the receipt stays for the next take (no loss, no duplicate).
    await deleteDefinitely(client, receiptPath);
    return data;
  }
}

/** A FIFO queue with safe consumption. */
export class DistributedQueue extends SequentialQueue {
  constructor(client: Client | SessionSource, path: string, env: RecipeEnv = liveRecipeEnv(), options: QueueOptions = {}) {
    super(client, path, env, options);
  }
  protected keyOf(name: string): SortKey | undefined {
    if (!/-item-\d{10}$/.test(name)) return undefined;
    return { primary: 0, sequence: sequenceOf(name) };
  }
  /** Enqueue; returns the item's path. */
  put(data: Uint8Array | string): Promise<string> {
    return this.putNamed("item-", data);
  }
}

export const MAX_PRIORITY = 999_999_999;

/** A priority queue: lower priority numbers first, FIFO within a priority. The priority is in the node name. */
export class PriorityQueue extends SequentialQueue {
  constructor(client: Client | SessionSource, path: string, env: RecipeEnv = liveRecipeEnv(), options: QueueOptions = {}) {
    super(client, path, env, options);
  }
  protected keyOf(name: string): SortKey | undefined {
    const match = /-p(\d{9})-(\d{10})$/.exec(name);
    if (match === null) return undefined;
    return { primary: Number(match[1]), sequence: Number(match[2]) };
  }
  put(data: Uint8Array | string, priority: number): Promise<string> {
    if (!Number.isSafeInteger(priority) || priority < 0 || priority > MAX_PRIORITY) throw new InvalidRecipeArgument("priority", `must be an integer 0..${MAX_PRIORITY}`);
    return this.putNamed(`p${String(priority).padStart(9, "0")}-`, data);
  }
}
