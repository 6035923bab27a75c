/**
 * Barriers. Barrier: a node whose existence holds everyone back; waiters watch
 * it and go when it is removed. DoubleBarrier: N participants enter (each an
 * ephemeral child); the one that sees N children creates `ready`, which
 * releases every waiter; on leave each deletes its node and waits until no
 * participant remains, so nobody starts the next phase early.
 */
import type { Client } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { Deadline, deleteDefinitely, ensurePath, joinPath, sessionSource, tagOf, validateRecipePath, validateSegment, type RecipeEnv, type SessionSource, type WaitOptions } from "./common.js";
import { InvalidRecipeArgument } from "./errors.js";
import { liveRecipeEnv } from "./env-live.js";

export class Barrier {
  private readonly sessions: SessionSource;
  constructor(client: Client | SessionSource, readonly path: string, private readonly env: RecipeEnv = liveRecipeEnv()) {
    validateRecipePath("path", path);
    this.sessions = sessionSource(client);
  }

  /** Raise the barrier (idempotent). */
  async set(): Promise<void> {
    const client = this.sessions.current();
    const parent = this.path.slice(0, this.path.lastIndexOf("/")) || "/";
    await ensurePath(client, parent);
    try {
      await client.create(this.path, new Uint8Array(0), { mode: CreateMode.Persistent });
    } catch (error) {
      if (tagOf(error) !== "NodeExists") throw error;
    }
  }

  /** Remove the barrier: every waiter proceeds. */
  async remove(): Promise<void> {
    await deleteDefinitely(this.sessions.current(), this.path);
  }

  /** Wait while the barrier is up. */
  async wait(options: WaitOptions = {}): Promise<void> {
    const deadline = new Deadline(this.env.clock, `wait on barrier ${this.path}`, options);
    const client = this.sessions.current();
    for (;;) {
      let fired = false;
      let wake: (() => void) | undefined;
      const stat = await client.exists(this.path, {
        watch: () => {
          fired = true;
          wake?.();
        },
      });
      if (stat === null) return;
      if (!fired)
        await deadline.sleep((w) => {
          wake = w;
        });
    }
  }
}

export class DoubleBarrier {
  private readonly sessions: SessionSource;
  private readonly readyPath: string;
  private ourPath: string | undefined;
  private client: Client | undefined;

  constructor(
    client: Client | SessionSource,
    readonly path: string,
    readonly memberCount: number,
    readonly memberId: string,
    private readonly env: RecipeEnv = liveRecipeEnv(),
  ) {
    validateRecipePath("path", path);
    validateSegment("memberId", memberId);
    if (memberId === "ready") throw new InvalidRecipeArgument("memberId", "\"ready\" is reserved");
    if (!Number.isSafeInteger(memberCount) || memberCount < 1) throw new InvalidRecipeArgument("memberCount", "must be a positive integer");
    this.sessions = sessionSource(client);
    this.readyPath = joinPath(path, "ready");
  }

  /** Enter and wait until memberCount participants have entered. */
  async enter(options: WaitOptions = {}): Promise<void> {
    const deadline = new Deadline(this.env.clock, `enter double barrier ${this.path}`, options);
    const client = this.sessions.current();
    this.client = client;
    await ensurePath(client, this.path);
    let fired = false;
    let wake: (() => void) | undefined;
    // Watch `ready` before joining so its creation cannot be missed.
    const watcher = (): void => {
      fired = true;
      wake?.();
    };
    const readyStat = await client.exists(this.readyPath, { watch: watcher });
    this.ourPath = joinPath(this.path, this.memberId);
    try {
      await client.create(this.ourPath, new Uint8Array(0), { mode: CreateMode.Ephemeral });
    } catch (error) {
      if (tagOf(error) !== "NodeExists") throw error;
    }
    if (readyStat !== null) return;
    try {
      for (;;) {
        const { children } = await client.getChildren(this.path);
        if (children.filter((c) => c !== "ready").length >= this.memberCount) {
          try {
            await client.create(this.readyPath, new Uint8Array(0), { mode: CreateMode.Persistent });
          } catch (error) {
            if (tagOf(error) !== "NodeExists") throw error;
          }
          return;
        }
        if (!fired)
          await deadline.sleep((w) => {
            wake = w;
          });
        if ((await client.exists(this.readyPath)) !== null) return;
        fired = false;
        await client.exists(this.readyPath, { watch: watcher });
      }
    } catch (error) {
      await deleteDefinitely(client, this.ourPath).catch(() => undefined);
      this.ourPath = undefined;
      throw error;
    }
  }

  /** Leave and wait until every participant has left. The last one out removes `ready`. */
  async leave(options: WaitOptions = {}): Promise<void> {
    const deadline = new Deadline(this.env.clock, `leave double barrier ${this.path}`, options);
    const client = this.client ?? this.sessions.current();
    if (this.ourPath !== undefined) await deleteDefinitely(client, this.ourPath);
    this.ourPath = undefined;
    for (;;) {
      let fired = false;
      let wake: (() => void) | undefined;
      const { children } = await client.getChildren(this.path, {
        watch: () => {
          fired = true;
          wake?.();
        },
      });
      if (children.filter((c) => c !== "ready").length === 0) {
        await deleteDefinitely(client, this.readyPath).catch(() => undefined);
        return;
      }
      if (!fired)
        await deadline.sleep((w) => {
          wake = w;
        });
    }
  }
}
