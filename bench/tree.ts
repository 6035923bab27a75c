/**
 * `pnpm bench tree [--nodes N] [--ops N]`: the data tree alone (no Raft, no network).
 * Prints apply ops/s for create / setData / getData on a tree of N znodes
 * (default 1,000,000), snapshot write/restore time and size, and heap per znode.
 * Run with --expose-gc for steadier memory numbers (NODE_OPTIONS=--expose-gc).
 */
import { CreateMode, OPEN_ACL_UNSAFE } from "@corral/protocol";
import type { Txn } from "@corral/protocol";
import { DataTree, SnapshotError } from "@corral/tree";

function flag(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const rows: [string, string][] = [];
function row(name: string, value: string): void {
  rows.push([name, value]);
  process.stdout.write(`  ${name.padEnd(42)} ${value}\n`);
}
const rate = (count: number, ms: number): string => `${Math.round((count / ms) * 1000).toLocaleString("en-US")} ops/s  (${count.toLocaleString("en-US")} in ${ms.toFixed(0)} ms)`;

export async function main(args: string[]): Promise<void> {
  const nodes = flag(args, "--nodes", 1_000_000);
  const ops = Math.min(flag(args, "--ops", 200_000), Math.floor(nodes / 5));
  const fanout = 1000;
  const data = new TextEncoder().encode("value-0123456789"); // 16 bytes
  process.stdout.write(`tree bench: ${nodes.toLocaleString("en-US")} znodes (fanout ${fanout}), ${ops.toLocaleString("en-US")} timed ops, 16-byte data, gc ${typeof (globalThis as { gc?: unknown }).gc === "function" ? "exposed" : "not exposed (pass --expose-gc)"}\n`);

  const heapBefore = heapUsed();
  const tree = new DataTree();
  let zxid = 0;
  let seq = 0;
  const sessionId = 1;
  const apply = (txn: Txn) => tree.apply(txn, { zxid: ++zxid, timeMs: 1_700_000_000_000 + zxid });
  apply({ type: "createSession", sessionId, timeoutMs: 30_000, secretHash: "bench" });
  const request = (op: Extract<Txn, { type: "request" }>["op"]): Txn => ({ type: "request", sessionId, seq: ++seq, auth: [], op });

  // Build: /d<i> directories with up to `fanout` children each.
  const directories = Math.max(1, Math.ceil(nodes / fanout));
  const pathOf = (i: number): string => `/d${Math.floor(i / fanout) % directories}/n${i}`;
  for (let d = 0; d < directories; d++) apply(request({ type: "create", path: `/d${d}`, data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent }));
  const buildCount = nodes - directories - ops;
  let created = 0;
  let started = performance.now();
  for (; created < buildCount; created++) {
    const result = apply(request({ type: "create", path: pathOf(created), data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent })).result;
    if (result.type !== "create") throw new Error(`build failed at ${created}: ${JSON.stringify(result)}`);
  }
  const buildMs = performance.now() - started;

  // Timed creates: the last `ops` nodes, into a tree already near N.
  started = performance.now();
  for (let i = 0; i < ops; i++, created++) apply(request({ type: "create", path: pathOf(created), data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent }));
  const createMs = performance.now() - started;
  if (tree.nodeCount !== nodes + 1 && tree.nodeCount !== created + directories + 1) throw new Error(`expected ${nodes + 1} nodes, have ${tree.nodeCount}`);
  const heapAfter = heapUsed();

  // setData over random existing nodes (deterministic LCG, not timed state).
  let x = 12345;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % created;
  const newData = new TextEncoder().encode("value-abcdefghij");
  started = performance.now();
  for (let i = 0; i < ops; i++) apply(request({ type: "setData", path: pathOf(next()), data: newData, version: -1 }));
  const setMs = performance.now() - started;

  const readPaths: string[] = [];
  for (let i = 0; i < ops; i++) readPaths.push(pathOf(next()));
  const context = { sessionId, auth: [] };
  started = performance.now();
  for (const path of readPaths) {
    const result = tree.read({ type: "getData", path }, context);
    if (result.type !== "getData") throw new Error(`read failed: ${path}`);
  }
  const getMs = performance.now() - started;

  started = performance.now();
  const snapshot = tree.snapshot();
  const snapshotMs = performance.now() - started;
  started = performance.now();
  const restored = DataTree.restore(snapshot);
  const restoreMs = performance.now() - started;
  if (restored instanceof SnapshotError) throw restored;
  if (restored.digest() !== tree.digest()) throw new Error("restored digest differs");

  process.stdout.write("\n");
  row("znodes", tree.nodeCount.toLocaleString("en-US"));
  row("build (create, untimed warm-up)", rate(buildCount, buildMs));
  row("apply create", rate(ops, createMs));
  row("apply setData", rate(ops, setMs));
  row("read getData", rate(ops, getMs));
  row("snapshot write", `${snapshotMs.toFixed(0)} ms`);
  row("snapshot bytes", `${snapshot.byteLength.toLocaleString("en-US")} (${(snapshot.byteLength / tree.nodeCount).toFixed(1)} B/znode)`);
  row("snapshot restore (incl. digest check)", `${restoreMs.toFixed(0)} ms`);
  row("heap per znode (16 B data, path ~14 chars)", `${((heapAfter - heapBefore) / tree.nodeCount).toFixed(0)} B`);
  row("digest", tree.digest());
}
