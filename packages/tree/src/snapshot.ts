/**
 * Deterministic snapshot of a DataTree: the same tree always gives the same
 * bytes (nodes in pre-order with children sorted, sessions by id, ACLs
 * numbered by first use). Restore rebuilds the tree, recomputes the digest
 * and refuses bytes whose digest does not match the one recorded.
 *
 * Layout (integers as unsigned LEB128 varints, strings as varint length +
 * UTF-8): "CORRALSN" | format version | lastZxid | ACL table | nodes |
 * sessions (with their exactly-once results as JSON) | digest (16 hex chars) |
 * checksum of everything before it (16 hex chars; the digest does not cover
 * the remembered results).
 */
import type { ACL, TxnResult } from "@corral/protocol";
import { decodeTxnResult, encodeTxnResult, isDecodeError, joinPath } from "@corral/protocol";
import type { NodeKind, SessionState, TreeConfig } from "./data-tree.js";
import { DataTree, ZNode, compareStrings } from "./data-tree.js";
import { checksum } from "./digest.js";
import { SnapshotError, invariant } from "./errors.js";

const MAGIC = "CORRALSN";
/** 2 adds each session's owner (ClaimSessionTxn); version 1 snapshots still load (no owners). */
const FORMAT_VERSION = 2;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

class Writer {
  private buffer = new Uint8Array(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  uint(value: number): void {
    invariant(Number.isSafeInteger(value) && value >= 0, `snapshot: not an unsigned safe integer: ${value}`);
    this.reserve(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  bytes(value: Uint8Array): void {
    this.uint(value.byteLength);
    this.reserve(value.byteLength);
    this.buffer.set(value, this.length);
    this.length += value.byteLength;
  }

  string(value: string): void {
    // Worst case 3 bytes per UTF-16 unit; encodeInto avoids a temporary array.
    this.reserve(value.length * 3 + 8);
    const start = this.length;
    this.uint(0); // placeholder, rewritten below when the length needs more bytes
    const headerLength = this.length - start;
    const { written } = encoder.encodeInto(value, this.buffer.subarray(this.length));
    if (written < 0x80 && headerLength === 1) {
      this.buffer[start] = written;
      this.length += written;
      return;
    }
    const encoded = this.buffer.slice(this.length, this.length + written);
    this.length = start;
    this.bytes(encoded);
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

class Corrupt {
  constructor(readonly reason: string) {}
}

class Reader {
  offset = 0;
  constructor(private readonly buffer: Uint8Array) {}

  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.buffer.length) throw new Corrupt("truncated");
      const byte = this.buffer[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new Corrupt("integer out of range");
        return value;
      }
      scale *= 0x80;
    }
    throw new Corrupt("varint too long");
  }

  bytes(): Uint8Array {
    const length = this.uint();
    if (this.offset + length > this.buffer.length) throw new Corrupt("truncated");
    const out = this.buffer.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(): string {
    const length = this.uint();
    if (this.offset + length > this.buffer.length) throw new Corrupt("truncated");
    try {
      return decoder.decode(this.buffer.subarray(this.offset, (this.offset += length)));
    } catch {
      throw new Corrupt("invalid UTF-8");
    }
  }

  get done(): boolean {
    return this.offset === this.buffer.length;
  }
}

/** Serializes the whole tree deterministically. */
export function writeSnapshot(tree: DataTree): Uint8Array {
  const w = new Writer();
  w.string(MAGIC);
  w.uint(FORMAT_VERSION);
  w.uint(tree.lastZxidApplied);

  // Pre-order walk with sorted children: parents come before children.
  const order: [string, ZNode][] = [];
  const stack: [string, ZNode][] = [["/", tree.nodes.get("/")!]];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    order.push(entry);
    const [path, node] = entry;
    if (node.children === undefined) continue;
    const names = [...node.children].sort(compareStrings);
    for (let i = names.length - 1; i >= 0; i--) {
      const childPath = joinPath(path, names[i]!);
      const child = tree.nodes.get(childPath);
      invariant(child !== undefined, `snapshot: child ${childPath} missing`);
      stack.push([childPath, child]);
    }
  }
  invariant(order.length === tree.nodes.size, "snapshot: tree has unreachable nodes");

  const aclIndex = new Map<string, number>();
  const acls: (readonly ACL[])[] = [];
  for (const [, node] of order) {
    if (!aclIndex.has(node.acl.key)) {
      aclIndex.set(node.acl.key, acls.length);
      acls.push(node.acl.acl);
    }
  }
  w.uint(acls.length);
  for (const acl of acls) {
    w.uint(acl.length);
    for (const entry of acl) {
      w.uint(entry.perms);
      w.string(entry.id.scheme);
      w.string(entry.id.id);
    }
  }

  w.uint(order.length);
  for (const [path, node] of order) {
    w.string(path);
    w.bytes(node.data);
    w.uint(aclIndex.get(node.acl.key)!);
    w.uint(node.czxid);
    w.uint(node.mzxid);
    w.uint(node.pzxid);
    w.uint(node.ctime);
    w.uint(node.mtime);
    w.uint(node.version);
    w.uint(node.cversion);
    w.uint(node.aversion);
    w.uint(node.ephemeralOwner);
    w.uint(node.kind);
    w.uint(node.ttlMs);
  }

  const sessions = [...tree.sessionTable.values()].sort((a, b) => a.sessionId - b.sessionId);
  w.uint(sessions.length);
  for (const session of sessions) {
    w.uint(session.sessionId);
    w.uint(session.timeoutMs);
    w.string(session.secretHash);
    w.uint(session.lastSeq);
    if (session.owner === undefined) w.uint(0);
    else {
      w.uint(1);
      w.string(session.owner);
    }
    w.uint(session.results.length);
    for (const { seq, result } of session.results) {
      w.uint(seq);
      w.string(JSON.stringify(encodeTxnResult(result)));
    }
  }
  w.string(tree.digest());
  const body = w.result();
  const sum = encoder.encode(checksum(body));
  const out = new Uint8Array(body.length + sum.length);
  out.set(body);
  out.set(sum, body.length);
  return out;
}

/** Rebuilds a tree from snapshot bytes. Never throws on bad bytes: returns SnapshotError. */
export function readSnapshot(bytes: Uint8Array, config: TreeConfig = {}): DataTree | SnapshotError {
  try {
    return read(bytes, config);
  } catch (error) {
    if (error instanceof Corrupt) return new SnapshotError(error.reason);
    // An invariant broken while rebuilding means the bytes describe an impossible tree.
    if (error instanceof Error && (error as { _tag?: string })._tag === "TreeInvariantViolation") return new SnapshotError(error.message);
    throw error;
  }
}

function read(snapshot: Uint8Array, config: TreeConfig): DataTree {
  if (snapshot.length < 16) throw new Corrupt("truncated");
  const bytes = snapshot.subarray(0, snapshot.length - 16);
  let recorded: string;
  try {
    recorded = decoder.decode(snapshot.subarray(snapshot.length - 16));
  } catch {
    throw new Corrupt("bad checksum");
  }
  if (recorded !== checksum(bytes)) throw new Corrupt("checksum mismatch");
  const r = new Reader(bytes);
  if (r.string() !== MAGIC) throw new Corrupt("bad magic");
  const version = r.uint();
  if (version !== FORMAT_VERSION && version !== 1) throw new Corrupt(`unsupported format version ${version}`);
  const lastZxid = r.uint();

  const aclCount = r.uint();
  if (aclCount > bytes.length) throw new Corrupt("ACL count too large");
  const acls: ACL[][] = [];
  for (let i = 0; i < aclCount; i++) {
    const length = r.uint();
    if (length > bytes.length) throw new Corrupt("ACL too large");
    const acl: ACL[] = [];
    for (let j = 0; j < length; j++) acl.push({ perms: r.uint(), id: { scheme: r.string(), id: r.string() } });
    acls.push(acl);
  }

  const tree = new DataTree(config);
  const nodeCount = r.uint();
  if (nodeCount < 1 || nodeCount > bytes.length) throw new Corrupt("bad node count");
  const pending: [string, ZNode][] = [];
  for (let i = 0; i < nodeCount; i++) {
    const path = r.string();
    const data = r.bytes();
    const acl = acls[r.uint()];
    if (acl === undefined) throw new Corrupt("ACL index out of range");
    const fields = [r.uint(), r.uint(), r.uint(), r.uint(), r.uint(), r.uint(), r.uint(), r.uint(), r.uint()] as const;
    const kind = r.uint();
    if (kind > 2) throw new Corrupt("bad node kind");
    const ttlMs = r.uint();
    if ((i === 0) !== (path === "/")) throw new Corrupt("root must come first, once");
    const node = new ZNode(data, tree.aclCache.acquire(acl), ...fields, kind as NodeKind, ttlMs);
    pending.push([path, node]);
  }

  const sessionCount = r.uint();
  if (sessionCount > bytes.length) throw new Corrupt("bad session count");
  let previousId = 0;
  for (let i = 0; i < sessionCount; i++) {
    const sessionId = r.uint();
    if (sessionId <= previousId) throw new Corrupt("sessions not sorted");
    previousId = sessionId;
    const timeoutMs = r.uint();
    const secretHash = r.string();
    const lastSeq = r.uint();
    let owner: string | undefined;
    if (version >= 2) {
      const hasOwner = r.uint();
      if (hasOwner > 1) throw new Corrupt("bad session owner flag");
      if (hasOwner === 1) owner = r.string();
    }
    const resultCount = r.uint();
    if (resultCount > bytes.length) throw new Corrupt("bad result count");
    const results: { seq: number; result: TxnResult }[] = [];
    for (let j = 0; j < resultCount; j++) {
      const seq = r.uint();
      let json: unknown;
      try {
        json = JSON.parse(r.string());
      } catch {
        throw new Corrupt("bad result JSON");
      }
      const result = decodeTxnResult(json);
      if (isDecodeError(result)) throw new Corrupt(`bad result: ${result.message}`);
      results.push({ seq, result });
    }
    const session: SessionState = { sessionId, timeoutMs, secretHash, lastSeq, owner, results, ephemerals: new Set() };
    tree.sessionTable.set(sessionId, session);
    tree.hashSession(session, 1);
  }

  // The constructor made a root; replace it with the snapshot's.
  const root = tree.nodes.get("/")!;
  tree.removeRootForRestore(root);
  for (const [path, node] of pending) {
    if (path !== "/" && !tree.nodes.has(path.slice(0, Math.max(1, path.lastIndexOf("/"))))) throw new Corrupt(`parent of ${path} missing`);
    if (tree.nodes.has(path)) throw new Corrupt(`duplicate ${path}`);
    if (node.ephemeralOwner !== 0 && !tree.sessionTable.has(node.ephemeralOwner)) throw new Corrupt(`ephemeral ${path} of unknown session`);
    tree.insertNode(path, node);
  }
  tree.lastZxidApplied = lastZxid;

  const digest = r.string();
  if (!r.done) throw new Corrupt("trailing bytes");
  if (digest !== tree.digest()) throw new Corrupt(`digest mismatch: recorded ${digest}, computed ${tree.digest()}`);
  return tree;
}
