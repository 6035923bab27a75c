/**
 * The whole-system simulation's adversary (issue 13): someone who can write
 * into every node's inbox (as anyone with Redis access can) but does not hold
 * the cluster key. From its own seeded stream it injects, at random times:
 * replays of real peer frames it saw (to their receiver or another node, from
 * this or an earlier incarnation), bit-flipped copies, frames sealed under a
 * guessed key or by a non-member, unsealed actor frames (proposes, heartbeats
 * with a term of 2^53-1, tracker touches), and garbage. The ensemble's
 * checkers must not notice: every forgery is dropped and counted; a replay
 * that arrives before its original was delivered is just a network delay.
 */
import { ClusterKeyring, PeerAuth, encodeActorFrame, type NetworkEndpoint, type Random } from "@corral/actors";
import { encodeTxn } from "@corral/protocol";
import type { SystemEnsemble } from "./system-ensemble.js";

const CLUSTER_TAG = "corral";
/** Frames injected per episode at most (a bound on the adversary's own burst). */
const MAX_FRAMES_PER_EPISODE = 8;

export const AttackKind = {
  replay: "replay",
  misdirectedReplay: "misdirected-replay",
  bitFlip: "bit-flip",
  guessedKey: "guessed-key",
  nonMember: "non-member",
  unsealedActorFrame: "unsealed-actor-frame",
  garbage: "garbage",
} as const;
export type AttackKind = (typeof AttackKind)[keyof typeof AttackKind];
const KINDS = Object.values(AttackKind);

export class Adversary {
  readonly injected: Record<string, number> = {};
  private endpoint: NetworkEndpoint | undefined;
  private stopped = false;
  private readonly guessedKey: ClusterKeyring;
  private readonly forgers = new Map<string, PeerAuth>();

  constructor(
    private readonly ensemble: SystemEnsemble,
    private readonly random: Random,
  ) {
    const secret = new Uint8Array(32).map(() => random.int(256));
    // Same key id as the real keyring, so the MAC itself is what refuses it.
    this.guessedKey = new ClusterKeyring([{ id: ensemble.keyring.signingKeyId, secret }]);
  }

  async start(): Promise<void> {
    this.endpoint = await this.ensemble.clientEnv("adversary").network.open("c-adversary", () => undefined);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
  }

  get total(): number {
    return Object.values(this.injected).reduce((n, v) => n + v, 0);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.ensemble.sim.after(5 + this.random.int(120), "adversary", () => {
      if (this.stopped) return;
      const bursts = 1 + this.random.int(MAX_FRAMES_PER_EPISODE);
      for (let i = 0; i < bursts; i++) this.attack(KINDS[this.random.int(KINDS.length)]!);
      this.schedule();
    });
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.random.int(items.length)];
  }

  private send(kind: AttackKind, to: string, frame: Uint8Array): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    this.endpoint?.send(to, frame);
  }

  private forger(self: string, members: readonly string[]): PeerAuth {
    const key = `${self}:${members.join(",")}`;
    let forger = this.forgers.get(key);
    if (forger === undefined) {
      forger = new PeerAuth({ self, cluster: CLUSTER_TAG, members, keyring: this.guessedKey, epoch: 1 + this.random.int(2 ** 31) });
      this.forgers.set(key, forger);
    }
    return forger;
  }

  private body(claimedNode: string, to: string): Uint8Array {
    const roll = this.random.int(4);
    const encode = (actor: string, body: unknown): Uint8Array => encodeActorFrame(actor, { node: claimedNode, actor }, body, { clusterTag: CLUSTER_TAG }) as Uint8Array;
    switch (roll) {
      case 0:
        return encode("raft", { type: "propose", commands: [{ kind: "txn", txn: encodeTxn({ type: "noop" }) }, { kind: "createSession", timeoutMs: 10_000, origin: ["adversary", this.random.int(1_000_000)] }] });
      case 1:
        return encode("raft", { type: "raft", message: { type: "MsgHeartbeat", from: claimedNode, to, term: 2 ** 53 - 1, commit: 2 ** 53 - 1, readSeq: 0 } });
      case 2:
        return encode("raft", { type: "raft", message: { type: "MsgVote", from: claimedNode, to, term: 2 ** 40, lastLogIndex: 2 ** 40, lastLogTerm: 2 ** 40, transfer: true } });
      default:
        return encode("tracker", { type: "touch", sessionIds: [1 + this.random.int(1_000)] });
    }
  }

  private attack(kind: AttackKind): void {
    const ids = this.ensemble.nodeIds;
    const to = this.pick(ids)!;
    const recorded = this.ensemble.recentPeerFrames;
    switch (kind) {
      case "replay": {
        const frame = this.pick(recorded);
        if (frame !== undefined) this.send(kind, frame.to, frame.frame);
        return;
      }
      case "misdirected-replay": {
        const frame = this.pick(recorded);
        const target = this.pick(ids.filter((id) => id !== frame?.to));
        if (frame !== undefined && target !== undefined) this.send(kind, target, frame.frame);
        return;
      }
      case "bit-flip": {
        const frame = this.pick(recorded);
        if (frame === undefined) return;
        const copy = new Uint8Array(frame.frame);
        copy[this.random.int(copy.length)]! ^= 1 << this.random.int(8);
        this.send(kind, frame.to, copy);
        return;
      }
      case "guessed-key": {
        const claimed = this.pick(ids.filter((id) => id !== to)) ?? to;
        this.send(kind, to, this.forger(claimed, ids).seal(to, this.body(claimed, to)));
        return;
      }
      case "non-member": {
        this.send(kind, to, this.forger("intruder", [...ids, "intruder"]).seal(to, this.body("intruder", to)));
        return;
      }
      case "unsealed-actor-frame": {
        const claimed = this.pick(ids.filter((id) => id !== to)) ?? to;
        this.send(kind, to, this.body(claimed, to));
        return;
      }
      case "garbage": {
        const junk = new Uint8Array(1 + this.random.int(300)).map(() => this.random.int(256));
        if (this.random.chance(0.5)) {
          junk[0] = 0xa5;
          if (junk.length > 1) junk[1] = 1;
        }
        this.send(kind, to, junk);
        return;
      }
    }
  }
}
