/**
 * AtomicCounter: a decimal integer in a znode, changed by compare-and-set on
 * the node version with a bounded number of retries. A set whose outcome is
 * unknown (lost reply) is not retried blindly, since it may have applied:
 * it fails with OutcomeUnknown.
 */
import type { Client } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { ensurePath, isUnknownOutcome, sessionSource, tagOf, textDecoder, validateRecipePath, type SessionSource } from "./common.js";
import { CorruptRecipeData, InvalidRecipeArgument, OutcomeUnknown, RetriesExhausted } from "./errors.js";

export interface CounterChange {
  readonly preValue: number;
  readonly postValue: number;
  /** Node version after the change. */
  readonly version: number;
}

export interface AtomicCounterOptions {
  /** Compare-and-set attempts before RetriesExhausted (default 50). */
  readonly maxRetries?: number;
  /** Value of a counter that does not exist yet (default 0). */
  readonly initialValue?: number;
}

export class AtomicCounter {
  private readonly sessions: SessionSource;
  private readonly maxRetries: number;
  private readonly initialValue: number;
  constructor(client: Client | SessionSource, readonly path: string, options: AtomicCounterOptions = {}) {
    validateRecipePath("path", path);
    this.sessions = sessionSource(client);
    this.maxRetries = options.maxRetries ?? 50;
    this.initialValue = options.initialValue ?? 0;
    if (!Number.isSafeInteger(this.initialValue)) throw new InvalidRecipeArgument("initialValue", "must be a safe integer");
  }

  private parse(data: Uint8Array): number {
    const text = textDecoder.decode(data);
    if (text === "") return this.initialValue;
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new CorruptRecipeData(this.path, `not an integer: ${JSON.stringify(text.slice(0, 40))}`);
    return value;
  }

  /** The current value (initialValue if the node does not exist). */
  async get(): Promise<number> {
    try {
      return this.parse((await this.sessions.current().getData(this.path)).data);
    } catch (error) {
      if (tagOf(error) === "NoNode") return this.initialValue;
      throw error;
    }
  }

  increment(): Promise<CounterChange> {
    return this.add(1);
  }
  decrement(): Promise<CounterChange> {
    return this.add(-1);
  }

  add(delta: number): Promise<CounterChange> {
    if (!Number.isSafeInteger(delta)) throw new InvalidRecipeArgument("delta", "must be a safe integer");
    return this.update((value) => value + delta);
  }

  /** Set to `expected -> next` only if the value is `expected`; returns whether it did. */
  async compareAndSet(expected: number, next: number): Promise<boolean> {
    let matched = true;
    await this.update((value) => {
      matched = value === expected;
      return matched ? next : value;
    });
    return matched;
  }

  /** Apply `fn` atomically (read, compute, compare-and-set; retry on a concurrent change). */
  async update(fn: (value: number) => number): Promise<CounterChange> {
    const client = this.sessions.current();
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxRetries; attempt++) {
      let current: number;
      let version: number;
      try {
        const { data, stat } = await client.getData(this.path);
        current = this.parse(data);
        version = stat.version;
      } catch (error) {
        if (tagOf(error) !== "NoNode") throw error;
        await ensurePath(client, this.path.slice(0, this.path.lastIndexOf("/")) || "/");
        try {
          await client.create(this.path, String(this.initialValue), { mode: CreateMode.Persistent });
        } catch (createError) {
          if (tagOf(createError) !== "NodeExists" && !isUnknownOutcome(createError)) throw createError;
        }
        continue;
      }
      const next = fn(current);
      if (!Number.isSafeInteger(next)) throw new InvalidRecipeArgument("update result", "must be a safe integer");
      if (next === current) return { preValue: current, postValue: current, version };
      try {
        const stat = await client.setData(this.path, String(next), version);
        return { preValue: current, postValue: next, version: stat.version };
      } catch (error) {
        lastError = error;
        if (tagOf(error) === "BadVersion" || tagOf(error) === "NoNode") continue;
        if (isUnknownOutcome(error)) throw new OutcomeUnknown(`update counter ${this.path}`, { cause: error });
        throw error;
      }
    }
    throw new RetriesExhausted(`update counter ${this.path}`, this.maxRetries, { cause: lastError });
  }
}
