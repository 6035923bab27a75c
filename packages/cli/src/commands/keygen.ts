/** `corral keygen`: a new cluster key (32 random bytes) as a key file line, or a new key file. */
import { parseArgs } from "node:util";
import { ExitCode, UsageError } from "../errors.js";
import { newClusterKeyLine, writeNewClusterKeyFile } from "../cluster-key.js";
import type { CliIo } from "../cli-io.js";

export const KEYGEN_USAGE = `usage: corral keygen [--out FILE] [--id KEY_ID]

  --out FILE   create FILE (mode 0600; refuses to overwrite) holding the new key;
               without it the key file line is printed
  --id KEY_ID  the key's id (default k + 8 hex digits of the key's SHA-256), [A-Za-z0-9_.-]{1,32}

Give every node of an ensemble the same file (--cluster-key-file FILE). Rotate:
\`corral keygen >> FILE\` on every node and SIGHUP them (the new key is accepted), then move its
line first and SIGHUP again (it signs), then delete the old line and SIGHUP (docs/security.md).`;

const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;

export function keygenCommand(args: readonly string[], io: CliIo): ExitCode {
  let values;
  try {
    ({ values } = parseArgs({ args: [...args], options: { out: { type: "string" }, id: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message, "keygen", { cause: error });
  }
  if (values.help === true) {
    io.stdout.write(`${KEYGEN_USAGE}\n`);
    return ExitCode.Ok;
  }
  if (values.id !== undefined && !KEY_ID.test(values.id)) throw new UsageError(`--id: "${values.id}" must be 1-32 characters of [A-Za-z0-9_.-]`, "keygen");
  if (values.out === undefined) {
    io.stdout.write(`${newClusterKeyLine(values.id)}\n`);
    return ExitCode.Ok;
  }
  try {
    writeNewClusterKeyFile(values.out, values.id);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === "EEXIST" ? `--out: ${values.out} exists; not overwriting a key (append with \`corral keygen >> ${values.out}\`)` : `--out: cannot create ${values.out} (${code ?? String(error)})`, "keygen", { cause: error });
  }
  io.stdout.write(`wrote a new cluster key to ${values.out} (mode 0600)\n`);
  return ExitCode.Ok;
}
