/**
 * Ensemble status from each node's admin `/status`: one row per node, and the
 * verdict `corral status` exits on (a leader, and a majority healthy).
 */
export interface NodeStatusRow {
  readonly id: string;
  readonly adminUrl: string;
  /** null when the node did not answer (down, or not yet up). */
  readonly status: {
    readonly role: string;
    readonly term: number;
    readonly leader: string | null;
    readonly commitIndex: number;
    readonly appliedIndex: number;
    readonly sessions: number;
    /** Lag of each peer as the node reports it (a leader knows its followers'). */
    readonly peerLag: ReadonlyMap<string, number>;
  } | null;
  readonly error?: string;
}

export interface EnsembleStatus {
  readonly rows: readonly NodeStatusRow[];
  readonly leader: string | null;
  readonly healthyCount: number;
  readonly healthy: boolean;
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** Lenient decoding: /status is ours, but an older or newer node must not crash the table. */
export function decodeStatus(value: unknown): NodeStatusRow["status"] {
  if (typeof value !== "object" || value === null) return null;
  const body = value as Record<string, unknown>;
  if (typeof body["role"] !== "string") return null;
  const peerLag = new Map<string, number>();
  if (Array.isArray(body["peers"])) {
    for (const peer of body["peers"] as unknown[]) {
      if (typeof peer === "object" && peer !== null) {
        const { id, lag } = peer as Record<string, unknown>;
        if (typeof id === "string" && typeof lag === "number") peerLag.set(id, lag);
      }
    }
  }
  return {
    role: body["role"],
    term: num(body["term"]),
    leader: typeof body["leader"] === "string" ? body["leader"] : null,
    commitIndex: num(body["commitIndex"]),
    appliedIndex: num(body["appliedIndex"]),
    sessions: num(body["sessions"]),
    peerLag,
  };
}

export async function fetchNodeStatus(id: string, adminUrl: string, timeoutMs: number): Promise<NodeStatusRow> {
  try {
    const response = await fetch(new URL("/status", adminUrl), { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { id, adminUrl, status: null, error: `HTTP ${response.status}` };
    const status = decodeStatus(await response.json());
    return status === null ? { id, adminUrl, status: null, error: "malformed /status" } : { id, adminUrl, status };
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const reason = typeof cause?.code === "string" ? cause.code : error instanceof Error ? error.name : String(error);
    return { id, adminUrl, status: null, error: reason };
  }
}

/** The verdict: the highest-term leader that names itself, and whether a majority of `nodes` answered and is not stopped. */
export function summarize(rows: readonly NodeStatusRow[]): EnsembleStatus {
  let leader: string | null = null;
  let leaderTerm = -1;
  let healthyCount = 0;
  for (const row of rows) {
    if (row.status === null || row.status.role === "stopped") continue;
    healthyCount++;
    if (row.status.role === "leader" && row.status.term > leaderTerm) {
      leader = row.id;
      leaderTerm = row.status.term;
    }
  }
  const majority = Math.floor(rows.length / 2) + 1;
  return { rows, leader, healthyCount, healthy: leader !== null && healthyCount >= majority };
}

export async function ensembleStatus(nodes: readonly { readonly id: string; readonly adminUrl: string }[], timeoutMs = 2_000): Promise<EnsembleStatus> {
  return summarize(await Promise.all(nodes.map((node) => fetchNodeStatus(node.id, node.adminUrl, timeoutMs))));
}

/** A fixed-width table, one row per node, then a verdict line. */
export function formatStatusTable(ensemble: EnsembleStatus): string[] {
  const leaderRow = ensemble.rows.find((row) => row.id === ensemble.leader);
  const header = ["ID", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAG", "SESSIONS", "ADMIN"];
  const table = ensemble.rows.map((row) => {
    const s = row.status;
    if (s === null) return [row.id, `down (${row.error ?? "no answer"})`, "-", "-", "-", "-", "-", "-", row.adminUrl];
    const lag = row.id === ensemble.leader ? 0 : leaderRow?.status?.peerLag.get(row.id);
    return [row.id, s.role, String(s.term), s.leader ?? "-", String(s.commitIndex), String(s.appliedIndex), lag === undefined ? "-" : String(lag), String(s.sessions), row.adminUrl];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
  const render = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  const majority = Math.floor(ensemble.rows.length / 2) + 1;
  const verdict = ensemble.healthy
    ? `healthy: leader ${ensemble.leader}, ${ensemble.healthyCount}/${ensemble.rows.length} nodes up`
    : `UNHEALTHY: ${ensemble.leader === null ? "no leader" : `leader ${ensemble.leader}`}, ${ensemble.healthyCount}/${ensemble.rows.length} nodes up (need ${majority})`;
  return [render(header), ...table.map(render), verdict];
}
