import type { ACL, CreateMode, Id, ReadOp, ReadResult, Txn, TxnResult, WriteOp } from "@corral/protocol";
import { OPEN_ACL_UNSAFE } from "@corral/protocol";
import type { ApplyOutcome, TreeConfig } from "../src/index.js";
import { DataTree } from "../src/index.js";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Drives a tree like a log: zxid = entry index, time advances 10 ms per entry unless set. */
export class Harness {
  readonly tree: DataTree;
  zxid = 0;
  timeMs = 1_000_000;
  private seqs = new Map<number, number>();
  constructor(config: TreeConfig = {}) {
    this.tree = new DataTree(config);
  }
  txn(txn: Txn): ApplyOutcome {
    this.zxid++;
    this.timeMs += 10;
    return this.tree.apply(txn, { zxid: this.zxid, timeMs: this.timeMs });
  }
  session(sessionId: number, timeoutMs = 10_000): void {
    this.txn({ type: "createSession", sessionId, timeoutMs, secretHash: `s${sessionId}` });
  }
  write(op: WriteOp, options: { sessionId?: number; auth?: Id[]; system?: boolean } = {}): TxnResult {
    return this.writeOutcome(op, options).result;
  }
  writeOutcome(op: WriteOp, options: { sessionId?: number; auth?: Id[]; system?: boolean } = {}): ApplyOutcome {
    const sessionId = options.sessionId ?? 1;
    if (!this.tree.session(sessionId) && !this.seqs.has(sessionId)) this.session(sessionId);
    const seq = (this.seqs.get(sessionId) ?? 0) + 1;
    this.seqs.set(sessionId, seq);
    const txn: Txn = { type: "request", sessionId, seq, auth: options.auth ?? [], op, ...(options.system === true ? { system: true } : {}) };
    return this.txn(txn);
  }
  create(path: string, data = "", mode: CreateMode = 0, options: { sessionId?: number; auth?: Id[]; acl?: readonly ACL[]; ttlMs?: number } = {}): TxnResult {
    const op: WriteOp = { type: "create", path, data: bytes(data), acl: options.acl ?? OPEN_ACL_UNSAFE, mode, ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}) };
    return this.write(op, options);
  }
  read(op: ReadOp, auth: Id[] = [], sessionId = 1): ReadResult {
    return this.tree.read(op, { sessionId, auth });
  }
}
