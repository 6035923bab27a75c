/** `corral status`: the ensemble table from each node's /status; exit 0 only when healthy. */
import { parseArgs } from "node:util";
import { readEnsembleFile } from "../ensemble-file.js";
import { ExitCode, UsageError } from "../errors.js";
import { ensembleStatus, formatStatusTable } from "../status.js";
import type { CliIo } from "../cli-io.js";

export const STATUS_USAGE = `usage: corral status [--data DIR] [--admin id=URL,...] [--json] [--timeout-ms MS]

  --data DIR        the ensemble recorded by \`corral up --data DIR\` (default .corral)
  --admin LIST      ask these nodes instead, e.g. n1=http://127.0.0.1:7101,n2=http://127.0.0.1:7102
  --json            print the rows as JSON
  --timeout-ms MS   per-node request timeout (default 2000)

Exits 0 when the ensemble has a leader and a majority of nodes answer, 1 otherwise.`;

export function parseAdminList(text: string): { id: string; adminUrl: string }[] {
  return text.split(",").map((entry) => {
    const equals = entry.indexOf("=");
    const id = entry.slice(0, equals);
    const adminUrl = entry.slice(equals + 1);
    if (equals <= 0 || !/^https?:\/\//.test(adminUrl)) throw new UsageError(`--admin: "${entry}" is not id=http://host:port`, "status");
    return { id, adminUrl };
  });
}

export async function statusCommand(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { data: { type: "string" }, admin: { type: "string" }, json: { type: "boolean" }, "timeout-ms": { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, "status", { cause: error });
  }
  if (values.help === true) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return ExitCode.Ok;
  }
  const timeoutMs = values["timeout-ms"] === undefined ? 2_000 : Number(values["timeout-ms"]);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms expects a positive integer`, "status");
  const nodes = values.admin !== undefined ? parseAdminList(values.admin) : readEnsembleFile(values.data ?? io.env["CORRAL_DATA"] ?? ".corral").nodes;
  const status = await ensembleStatus(nodes, timeoutMs);
  if (values.json === true) {
    const rows = status.rows.map((row) => ({
      id: row.id,
      adminUrl: row.adminUrl,
      ...(row.status === null ? { up: false, error: row.error ?? null } : { up: true, ...row.status, peerLag: Object.fromEntries(row.status.peerLag) }),
    }));
    io.stdout.write(`${JSON.stringify({ healthy: status.healthy, leader: status.leader, rows }, null, 2)}\n`);
  } else {
    for (const line of formatStatusTable(status)) io.stdout.write(`${line}\n`);
  }
  return status.healthy ? ExitCode.Ok : ExitCode.Failure;
}
