/**
 * The stdout JSON lines a bench peer writes to the parent, one object per
 * line, and the stdin commands the parent writes to a peer ("go", "stats").
 * Shared by peer.ts and cluster.ts so both sides agree on the shapes.
 */

/** The peer has loaded its log and opened its inbox; it waits for "go". */
export interface PeerReady {
  readonly type: "ready";
  readonly id: string;
}

/** Written by the peer that led the whole measured window. */
export interface PeerResult {
  readonly type: "result";
  readonly id: string;
  readonly committed: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** WAL fsyncs by the leader during the measured window. */
  readonly walSyncs: number;
  readonly term: number;
}

/** Answer to "stats": network and disk counters of one peer. */
export interface PeerStats {
  readonly type: "stats";
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly commit: number;
  readonly walSyncs: number;
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly framesDropped: number;
  readonly decodeFailures: number;
  /** Ready batches handled, and the wall time spent awaiting their saves. */
  readonly readies: number;
  readonly saveMs: number;
  /** Largest gap between two ticks (event-loop stalls show here). */
  readonly maxTickGapMs: number;
}

/** The peer gave up (lost leadership mid-window, a save failed ...). */
export interface PeerFailed {
  readonly type: "failed";
  readonly id: string;
  readonly reason: string;
}

export type PeerReport = PeerReady | PeerResult | PeerStats | PeerFailed;

/** Parses one stdout line; anything that is not a report (stray output) is undefined. */
export function parseReport(line: string): PeerReport | undefined {
  if (!line.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as { type?: unknown; id?: unknown };
  if (typeof record.id !== "string") return undefined;
  if (record.type === "ready" || record.type === "result" || record.type === "stats" || record.type === "failed") return value as PeerReport;
  return undefined;
}

export function writeReport(report: PeerReport): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
