/**
 * What the peer plane's MAC costs per frame (issue 13): the frame path of a
 * node-to-node message without authentication (encode the JSON envelope,
 * decode it) against the same path with it (encode, seal, verify, decode),
 * for frame sizes from a heartbeat to a full MsgApp batch.
 *
 *   pnpm bench peer-auth [--seconds 1]
 */
import { ClusterKeyring, PeerAuth, decodeFrame, encodeActorFrame, type OpenedPeerFrame } from "@corral/actors";

function option(args: readonly string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? (args[at + 1] as string) : fallback;
}

/** Runs `body` in batches until `seconds` have passed; returns ns per call. */
function measure(seconds: number, body: () => void): number {
  for (let i = 0; i < 2_000; i++) body(); // warm up
  const batch = 200;
  let calls = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let i = 0; i < batch; i++) body();
    calls += batch;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(option(args, "seconds", "1"));
  const keyring = new ClusterKeyring([{ id: "k1", secret: new Uint8Array(32).fill(7) }]);
  const members = ["n1", "n2", "n3"];
  const options = { clusterTag: "corral", maxFrameBytes: 8 * 1024 * 1024 };
  const rows: string[][] = [];
  // Body sizes: a heartbeat, a small append, a 16 KiB and a 1 MiB MsgApp (RawNode's maxBytesPerAppend).
  for (const [label, dataBytes] of [
    ["heartbeat", 0],
    ["append 1 KiB", 1024],
    ["append 16 KiB", 16 * 1024],
    ["append 1 MiB", 1024 * 1024],
  ] as const) {
    const body = {
      type: "raft",
      message: dataBytes === 0
        ? { type: "MsgHeartbeat", from: "n1", to: "n2", term: 7, commit: 12345, readSeq: 0 }
        : { type: "MsgApp", from: "n1", to: "n2", term: 7, prevIndex: 100, prevTerm: 7, commit: 99, entries: [{ term: 7, index: 101, type: 0, data: Buffer.alloc(dataBytes, 1).toString("base64") }] },
    };
    const plain = (): void => {
      const bytes = encodeActorFrame("raft", { node: "n1", actor: "raft" }, body, options) as Uint8Array;
      decodeFrame(bytes, options);
    };
    // A fresh pair per size; the receiver's replay window accepts every new seq.
    const sender = new PeerAuth({ self: "n1", cluster: "corral", members, keyring, epoch: 1 });
    const receiver = new PeerAuth({ self: "n2", cluster: "corral", members, keyring, epoch: 1 });
    const sealed = (): void => {
      const bytes = encodeActorFrame("raft", { node: "n1", actor: "raft" }, body, options) as Uint8Array;
      const opened = receiver.open(sender.seal("n2", bytes)) as OpenedPeerFrame;
      decodeFrame(opened.payload, options);
    };
    const frameBytes = (encodeActorFrame("raft", { node: "n1", actor: "raft" }, body, options) as Uint8Array).length;
    const sealOnly = ((): (() => void) => {
      const bytes = encodeActorFrame("raft", { node: "n1", actor: "raft" }, body, options) as Uint8Array;
      return () => void sender.seal("n2", bytes);
    })();
    const plainNs = measure(seconds, plain);
    const sealedNs = measure(seconds, sealed);
    const sealNs = measure(seconds, sealOnly);
    rows.push([label, String(frameBytes), (plainNs / 1000).toFixed(2), (sealedNs / 1000).toFixed(2), ((sealedNs - plainNs) / 1000).toFixed(2), `${((100 * (sealedNs - plainNs)) / plainNs).toFixed(0)} %`, (sealNs / 1000).toFixed(2)]);
    if (receiver.stats().rejectedReplay + receiver.stats().rejectedBadMac > 0) throw new Error("benchmark frames were refused");
  }
  const head = ["frame", "bytes", "plain µs", "sealed µs", "MAC µs", "overhead", "seal only µs"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  process.stdout.write(`peer frame path per frame (encode + decode; sealed adds seal + verify), node ${process.version}\n`);
  process.stdout.write(`${line(head)}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}
