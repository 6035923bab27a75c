/**
 * Two- and three-phase commit through znodes. Layout under `<root>/<txId>`:
 *   (the tx node)        JSON { participants, protocol }
 *   votes/<participant>  "yes" | "no"
 *   precommit            (3PC only) created once every vote is yes
 *   acks/<participant>   (3PC only) a participant saw precommit
 *   decision             "commit" | "abort"
 *
 * The decision node is created with create-if-absent: whoever creates it
 * first decides, everyone else (coordinator, participants, a recovery
 * coordinator) reads it. So every participant reaches the same decision, and
 * the protocol survives the coordinator: any process can finish it.
 *
 * Rules (who may propose what):
 * - commit is proposed only by someone who saw every vote "yes" (2PC
 *   coordinator / recovery) or saw `precommit` (3PC), which itself is created
 *   only after every vote was yes. So a commit decision implies unanimous yes.
 * - abort may be proposed by anyone who did not see precommit: a "no" vote, a
 *   coordinator's vote timeout, a participant's decision timeout (2PC), or a
 *   participant's timeout before precommit (3PC).
 * - 3PC timeouts: a participant that saw precommit and times out proposes
 *   commit; one that did not, proposes abort. A coordinator waiting for acks
 *   that times out commits (every vote was yes). These are Skeen's rules; they
 *   need no failure detector here, since the linearizable tree (not local
 *   timers) settles conflicting proposals. Assumptions: participants vote at
 *   most once per tx, and the tree (a quorum of the ensemble) is available to
 *   finish; without it everyone blocks rather than diverges.
 */
import type { Client } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { Deadline, ensurePath, isUnknownOutcome, joinPath, sessionSource, tagOf, textDecoder, validateRecipePath, validateSegment, type RecipeEnv, type SessionSource } from "./common.js";
import { CorruptRecipeData, InvalidRecipeArgument, RecipeTimeout, RetriesExhausted } from "./errors.js";
import { liveRecipeEnv } from "./env-live.js";

export type Decision = "commit" | "abort";
export type CommitProtocol = "2pc" | "3pc";
export const DEFAULT_TX_ROOT = "/tx";
export const MAX_PARTICIPANTS = 1_000;

interface TxInfo {
  readonly participants: readonly string[];
  readonly protocol: CommitProtocol;
}

function parseDecision(path: string, data: Uint8Array): Decision {
  const text = textDecoder.decode(data);
  if (text !== "commit" && text !== "abort") throw new CorruptRecipeData(path, `not a decision: ${JSON.stringify(text.slice(0, 20))}`);
  return text;
}

/** Create the decision if absent; return the decision that won. */
async function decide(client: Client, txPath: string, proposal: Decision): Promise<Decision> {
  const path = joinPath(txPath, "decision");
  for (let attempt = 1; attempt <= 10; attempt++) {
    try {
      await client.create(path, proposal, { mode: CreateMode.Persistent });
      return proposal;
    } catch (error) {
      if (tagOf(error) !== "NodeExists" && !isUnknownOutcome(error)) throw error;
      try {
        return parseDecision(path, (await client.getData(path)).data);
      } catch (readError) {
        if (tagOf(readError) !== "NoNode" && !isUnknownOutcome(readError)) throw readError;
      }
    }
  }
  throw new RetriesExhausted(`decide ${txPath}`, 10);
}

/** Wait until `check` (run now and after each watch on `watchPath`'s children) returns a value. */
async function waitFor<T>(client: Client, watchPath: string, deadline: Deadline, check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    let fired = false;
    let wake: (() => void) | undefined;
    try {
      await client.getChildren(watchPath, {
        watch: () => {
          fired = true;
          wake?.();
        },
      });
    } catch (error) {
      if (tagOf(error) !== "NoNode") throw error;
      // The watched dir does not exist yet: poll by exists watch on it.
      await client.exists(watchPath, {
        watch: () => {
          fired = true;
          wake?.();
        },
      });
    }
    const value = await check();
    if (value !== undefined) return value;
    if (!fired)
      await deadline.sleep((w) => {
        wake = w;
      });
  }
}

abstract class TxBase {
  protected readonly sessions: SessionSource;
  protected readonly root: string;
  constructor(client: Client | SessionSource, protected readonly env: RecipeEnv, options: { readonly root?: string }) {
    this.sessions = sessionSource(client);
    this.root = options.root ?? DEFAULT_TX_ROOT;
    validateRecipePath("root", this.root);
  }
  protected txPath(txId: string): string {
    validateSegment("txId", txId);
    return joinPath(this.root, txId);
  }
  protected async readDecision(client: Client, txPath: string): Promise<Decision | undefined> {
    const path = joinPath(txPath, "decision");
    try {
      return parseDecision(path, (await client.getData(path)).data);
    } catch (error) {
      if (tagOf(error) === "NoNode") return undefined;
      throw error;
    }
  }
  protected async readInfo(client: Client, txPath: string): Promise<TxInfo> {
    const { data } = await client.getData(txPath);
    try {
      const info = JSON.parse(textDecoder.decode(data)) as TxInfo;
      if (!Array.isArray(info.participants) || (info.protocol !== "2pc" && info.protocol !== "3pc")) throw new Error("shape");
      return info;
    } catch {
      throw new CorruptRecipeData(txPath, "not a transaction record");
    }
  }
  protected async votes(client: Client, txPath: string): Promise<Map<string, string>> {
    const votesPath = joinPath(txPath, "votes");
    const out = new Map<string, string>();
    const { children } = await client.getChildren(votesPath);
    for (const name of children) {
      try {
        out.set(name, textDecoder.decode((await client.getData(joinPath(votesPath, name))).data));
      } catch (error) {
        if (tagOf(error) !== "NoNode") throw error;
      }
    }
    return out;
  }
  /** The decision, if one was made. */
  async decision(txId: string): Promise<Decision | undefined> {
    return this.readDecision(this.sessions.current(), this.txPath(txId));
  }
}

export interface CoordinatorOptions {
  readonly root?: string;
  /** How long to wait for votes before aborting (default 10,000). */
  readonly voteTimeoutMs?: number;
  /** 3PC: how long to wait for precommit acks before committing anyway (default 5,000). */
  readonly ackTimeoutMs?: number;
}

/** A coordinator (or a recovery coordinator) of 2PC or 3PC. */
class Coordinator extends TxBase {
  constructor(client: Client | SessionSource, env: RecipeEnv, private readonly protocol: CommitProtocol, private readonly options: CoordinatorOptions = {}) {
    super(client, env, options);
  }

  /** Create the transaction and run it to a decision. */
  async run(txId: string, participants: readonly string[]): Promise<Decision> {
    if (participants.length === 0 || participants.length > MAX_PARTICIPANTS) throw new InvalidRecipeArgument("participants", `must list 1..${MAX_PARTICIPANTS}`);
    for (const p of participants) validateSegment("participant", p);
    if (new Set(participants).size !== participants.length) throw new InvalidRecipeArgument("participants", "must be distinct");
    const client = this.sessions.current();
    const txPath = this.txPath(txId);
    await ensurePath(client, this.root);
    try {
      const builder = client.multi().create(txPath, JSON.stringify({ participants, protocol: this.protocol }), { mode: CreateMode.Persistent }).create(joinPath(txPath, "votes"), "", { mode: CreateMode.Persistent });
      if (this.protocol === "3pc") builder.create(joinPath(txPath, "acks"), "", { mode: CreateMode.Persistent });
      await builder.commit();
    } catch (error) {
      // Exists: a retry after a lost reply, or a second coordinator: both continue as recovery.
      if (tagOf(error) !== "NodeExists" && !isUnknownOutcome(error)) throw error;
    }
    return this.finish(txId);
  }

  /** Drive an existing transaction to its decision (after the coordinator died). */
  async finish(txId: string): Promise<Decision> {
    const client = this.sessions.current();
    const txPath = this.txPath(txId);
    const info = await this.readInfo(client, txPath);
    const existing = await this.readDecision(client, txPath);
    if (existing !== undefined) return existing;
    const voteDeadline = new Deadline(this.env.clock, `votes of ${txId}`, { timeoutMs: this.options.voteTimeoutMs ?? 10_000 });
    let outcome: Decision;
    try {
      outcome = await waitFor(client, joinPath(txPath, "votes"), voteDeadline, async () => {
        if ((await this.readDecision(client, txPath)) !== undefined) return "abort" as Decision; // settled below
        const votes = await this.votes(client, txPath);
        if ([...votes.values()].some((v) => v !== "yes")) return "abort" as Decision;
        if (info.participants.every((p) => votes.get(p) === "yes")) return "commit" as Decision;
        return undefined;
      });
    } catch (error) {
      if (!(error instanceof RecipeTimeout)) throw error;
      outcome = "abort";
    }
    const settled = await this.readDecision(client, txPath);
    if (settled !== undefined) return settled;
    if (outcome === "commit" && info.protocol === "3pc") {
      try {
        await client.create(joinPath(txPath, "precommit"), "", { mode: CreateMode.Persistent });
      } catch (error) {
        if (tagOf(error) !== "NodeExists" && !isUnknownOutcome(error)) throw error;
      }
      const ackDeadline = new Deadline(this.env.clock, `acks of ${txId}`, { timeoutMs: this.options.ackTimeoutMs ?? 5_000 });
      try {
        await waitFor(client, joinPath(txPath, "acks"), ackDeadline, async () => {
          const { children } = await client.getChildren(joinPath(txPath, "acks"));
          return info.participants.every((p) => children.includes(p)) ? true : undefined;
        });
      } catch (error) {
        if (!(error instanceof RecipeTimeout)) throw error;
        // Every vote was yes: committing after an ack timeout is safe (a precommitted participant commits too).
      }
    }
    return decide(client, txPath, outcome);
  }
}

export class TwoPhaseCommit extends Coordinator {
  constructor(client: Client | SessionSource, env: RecipeEnv = liveRecipeEnv(), options: CoordinatorOptions = {}) {
    super(client, env, "2pc", options);
  }
}

export class ThreePhaseCommit extends Coordinator {
  constructor(client: Client | SessionSource, env: RecipeEnv = liveRecipeEnv(), options: CoordinatorOptions = {}) {
    super(client, env, "3pc", options);
  }
}

export interface ParticipantOptions {
  readonly root?: string;
  /** How long to wait for the decision before applying the timeout rule (default 15,000). */
  readonly decisionTimeoutMs?: number;
}

/** A participant: votes, then waits for (or, on timeout, proposes) the decision. */
export class TransactionParticipant extends TxBase {
  constructor(client: Client | SessionSource, readonly participantId: string, env: RecipeEnv = liveRecipeEnv(), private readonly options: ParticipantOptions = {}) {
    super(client, env, options);
    validateSegment("participantId", participantId);
  }

  /**
   * Vote; a "no" vote also proposes abort at once. Voting twice keeps the first
   * vote. Waits (up to the decision timeout) for the coordinator to create the tx.
   */
  async vote(txId: string, yes: boolean): Promise<void> {
    const client = this.sessions.current();
    const txPath = this.txPath(txId);
    const votesPath = joinPath(txPath, "votes");
    const path = joinPath(votesPath, this.participantId);
    const deadline = new Deadline(this.env.clock, `tx ${txId} to exist`, { timeoutMs: this.options.decisionTimeoutMs ?? 15_000 });
    for (;;) {
      try {
        await client.create(path, yes ? "yes" : "no", { mode: CreateMode.Persistent });
        break;
      } catch (error) {
        if (tagOf(error) === "NodeExists" || isUnknownOutcome(error)) break;
        if (tagOf(error) !== "NoNode") throw error;
      }
      let wake: (() => void) | undefined;
      let fired = false;
      const stat = await client.exists(votesPath, {
        watch: () => {
          fired = true;
          wake?.();
        },
      });
      if (stat === null && !fired)
        await deadline.sleep((w) => {
          wake = w;
        });
    }
    if (!yes) await decide(client, txPath, "abort");
  }

  /** Vote and wait for the decision. */
  async voteAndAwait(txId: string, yes: boolean): Promise<Decision> {
    await this.vote(txId, yes);
    return this.awaitDecision(txId);
  }

  /** Wait for the decision; on timeout apply the protocol's rule (see the module comment). */
  async awaitDecision(txId: string): Promise<Decision> {
    const client = this.sessions.current();
    const txPath = this.txPath(txId);
    const info = await this.readInfo(client, txPath);
    const deadline = new Deadline(this.env.clock, `decision of ${txId}`, { timeoutMs: this.options.decisionTimeoutMs ?? 15_000 });
    let acked = false;
    try {
      return await waitFor(client, txPath, deadline, async () => {
        const decision = await this.readDecision(client, txPath);
        if (decision !== undefined) return decision;
        if (info.protocol === "3pc" && !acked && (await client.exists(joinPath(txPath, "precommit"))) !== null) {
          try {
            await client.create(joinPath(joinPath(txPath, "acks"), this.participantId), "", { mode: CreateMode.Persistent });
          } catch (error) {
            if (tagOf(error) !== "NodeExists" && !isUnknownOutcome(error)) throw error;
          }
          acked = true;
        }
        return undefined;
      });
    } catch (error) {
      if (!(error instanceof RecipeTimeout)) throw error;
    }
    const precommitted = info.protocol === "3pc" && (await client.exists(joinPath(txPath, "precommit"))) !== null;
    return decide(client, txPath, precommitted ? "commit" : "abort");
  }
}
