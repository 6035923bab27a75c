/**
 * Session semantics, checked on every replica's apply stream: once a
 * session's close (expiry or explicit) is applied, none of its ephemerals is
 * visible on that replica; and before that, an ephemeral of a live session
 * disappears only through that session's own request (the workload never
 * deletes another session's ephemerals).
 *
 * `observeStateMachine` wraps a node's StateMachine so every apply is seen
 * with the ephemeral sets before and after it.
 */
import type { Txn } from "@corral/protocol";
import type { StateMachine, StateMachineFactory } from "@corral/server";

type AppliedTxn = ReturnType<StateMachine["apply"]>;
type RestoredSnapshot = ReturnType<StateMachine["restore"]>;
import type { Violations } from "./violation.js";

const SYSTEM_CALLER = { auth: [] } as const;

function ephemeralsOf(machine: StateMachine, sessionId: number): string[] {
  const result = machine.read({ type: "getEphemerals", prefix: "/" }, { sessionId, auth: SYSTEM_CALLER.auth });
  return result.type === "getEphemerals" ? [...result.paths] : [];
}

function exists(machine: StateMachine, path: string): boolean {
  const result = machine.read({ type: "exists", path }, { sessionId: 0, auth: SYSTEM_CALLER.auth });
  return result.type === "exists" && result.stat !== null;
}

export class SessionChecker {
  appliesChecked = 0;
  sessionsClosed = 0;
  /** Snapshots installed into a running replica (a lagging follower catching up). */
  snapshotInstalls = 0;
  constructor(private readonly violations: Violations) {}

  /** Wrap a factory: every machine it makes reports its applies here, labelled with the node id. */
  wrap(nodeId: string, factory: StateMachineFactory): StateMachineFactory {
    return { create: () => this.observeStateMachine(nodeId, factory.create()) };
  }

  observeStateMachine(nodeId: string, machine: StateMachine): StateMachine {
    const apply = (txn: Txn, meta: { readonly zxid: number; readonly timeMs: number }): AppliedTxn => {
      const before = new Map<number, string[]>();
      for (const session of machine.sessions()) before.set(session.sessionId, ephemeralsOf(machine, session.sessionId));
      const applied = machine.apply(txn, meta);
      this.check(nodeId, meta.zxid, txn, applied, before, machine);
      return applied;
    };
    const restore = (data: Uint8Array): RestoredSnapshot => {
      // A snapshot installed from the leader while running (start-up restores come before any apply).
      if (applied > 0) this.snapshotInstalls++;
      return machine.restore(data);
    };
    let applied = 0;
    const counted = (txn: Txn, meta: { readonly zxid: number; readonly timeMs: number }): AppliedTxn => {
      applied++;
      return apply(txn, meta);
    };
    return new Proxy(machine, {
      get(target, property, receiver) {
        if (property === "apply") return counted;
        if (property === "restore") return restore;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private check(nodeId: string, zxid: number, txn: Txn, applied: AppliedTxn, before: ReadonlyMap<number, string[]>, machine: StateMachine): void {
    this.appliesChecked++;
    const closed = new Set(applied.closedSessions);
    for (const sessionId of closed) {
      this.sessionsClosed++;
      for (const path of before.get(sessionId) ?? []) {
        if (exists(machine, path)) {
          this.violations.add("session", `${nodeId} zxid ${zxid}: ephemeral ${path} of session ${sessionId} still visible after its close was applied`);
        }
      }
    }
    const actor = txn.type === "request" ? txn.sessionId : undefined;
    for (const [sessionId, paths] of before) {
      if (closed.has(sessionId) || sessionId === actor || paths.length === 0) continue;
      const after = new Set(machine.session(sessionId) === undefined ? [] : ephemeralsOf(machine, sessionId));
      for (const path of paths) {
        if (!after.has(path) && !exists(machine, path)) {
          this.violations.add("session", `${nodeId} zxid ${zxid}: ephemeral ${path} of live session ${sessionId} deleted by a ${txn.type} txn before its session closed`);
        }
      }
    }
  }
}
