/**
 * `node --import tsx bench/corral/profile-summary.ts FILE.cpuprofile [N]`:
 * the top N functions by self time of a V8 CPU profile (node --cpu-prof),
 * with their share of the sampled time, to say where a node's time goes.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly location: string;
  readonly selfMs: number;
  readonly share: number;
}

export function topSelfTime(profile: CpuProfile, count: number, root = process.cwd()): SelfTime[] {
  const selfMicroseconds = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let index = 0; index < samples.length; index += 1) {
    const id = samples[index] ?? 0;
    // timeDeltas[i] is the time since the previous sample; attribute the next delta to this sample.
    const delta = deltas[index + 1] ?? deltas[index] ?? 0;
    selfMicroseconds.set(id, (selfMicroseconds.get(id) ?? 0) + delta);
  }
  const byFunction = new Map<string, { name: string; location: string; microseconds: number }>();
  let total = 0;
  for (const node of profile.nodes) {
    const microseconds = selfMicroseconds.get(node.id) ?? 0;
    total += microseconds;
    const url = node.callFrame.url.replace(/^file:\/\//, "");
    const location = url === "" ? "(native)" : `${url.startsWith("/") ? relative(root, url) : url}:${node.callFrame.lineNumber + 1}`;
    const name = node.callFrame.functionName === "" ? "(anonymous)" : node.callFrame.functionName;
    const key = `${name}@${location}`;
    const entry = byFunction.get(key) ?? { name, location, microseconds: 0 };
    entry.microseconds += microseconds;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.microseconds - a.microseconds)
    .slice(0, count)
    .map((entry) => ({ name: entry.name, location: entry.location, selfMs: Math.round(entry.microseconds / 100) / 10, share: total > 0 ? entry.microseconds / total : 0 }));
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write("usage: profile-summary.ts FILE.cpuprofile [N]\n");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  for (const entry of topSelfTime(profile, Number(process.argv[3] ?? 25))) {
    process.stdout.write(`${(entry.share * 100).toFixed(1).padStart(5)} %  ${String(entry.selfMs).padStart(8)} ms  ${entry.name}  ${entry.location}\n`);
  }
}
