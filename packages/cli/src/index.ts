/** Public surface of @corral/cli: the shell interpreter and helpers others may reuse (nothing imports the CLI's commands). */
export { runCli, USAGE } from "./cli.js";
export type { CliIo } from "./cli-io.js";
export { ShellInterpreter, ShellUsageError, SubtreeTooLarge, COMMANDS, COMMAND_NAMES, describeFailure, parseCommandArgs, createModeFor } from "./shell/interpreter.js";
export type { ShellIo, ShellOptions, CommandOutcome, CommandName } from "./shell/interpreter.js";
export { tokenize, ShellSyntaxError } from "./shell/tokenize.js";
export { parseAcl, formatAcl, parsePerms, formatPerms, AclSyntaxError } from "./shell/acl.js";
export { resolveNodeCommandConfig, readConfigFile, CONFIG_FILE_KEYS } from "./node-config.js";
export type { NodeCommandConfig, NodeFlags } from "./node-config.js";
export { readEnsembleFile, writeEnsembleFile, removeEnsembleFile, decodeEnsembleRecord, ensembleFilePath } from "./ensemble-file.js";
export type { EnsembleRecord, EnsembleNodeRecord } from "./ensemble-file.js";
export { ensembleStatus, summarize, formatStatusTable, decodeStatus } from "./status.js";
export type { EnsembleStatus, NodeStatusRow } from "./status.js";
export * from "./errors.js";
