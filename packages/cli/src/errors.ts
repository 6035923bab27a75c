/**
 * Typed failures of the `corral` command. Each has a stable `_tag` and the
 * process exit code it maps to, so scripts can tell a usage mistake (2) from a
 * failure of the ensemble or the environment (1).
 */

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

abstract class CliError extends Error {
  abstract readonly _tag: string;
  abstract readonly exitCode: ExitCode;
}

/** Bad flags or arguments on the command line. */
export class UsageError extends CliError {
  readonly _tag = "UsageError" as const;
  readonly exitCode = ExitCode.Usage;
  constructor(
    message: string,
    /** The command whose usage to show (e.g. "node"), or undefined for the top level. */
    readonly command?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** A configuration value (flag, env var or config file) is missing or invalid. */
export class ConfigError extends CliError {
  readonly _tag = "ConfigError" as const;
  readonly exitCode = ExitCode.Usage;
  constructor(
    /** Where the value came from, e.g. "--peers", "CORRAL_PEERS", "config file corral.json: peers". */
    readonly source: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${reason}`, options);
    this.name = "ConfigError";
  }
}

/** No ensemble record (ensemble.json) where one was expected. */
export class EnsembleNotFound extends CliError {
  readonly _tag = "EnsembleNotFound" as const;
  readonly exitCode = ExitCode.Failure;
  constructor(readonly file: string, options?: { cause?: unknown }) {
    super(`no running ensemble recorded at ${file}: start one with \`corral up\`, or pass --redis URL --cluster NAME`, options);
    this.name = "EnsembleNotFound";
  }
}

/** ensemble.json exists but is not a valid record. */
export class EnsembleFileInvalid extends CliError {
  readonly _tag = "EnsembleFileInvalid" as const;
  readonly exitCode = ExitCode.Failure;
  constructor(readonly file: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`${file} is not a valid ensemble record: ${reason}`, options);
    this.name = "EnsembleFileInvalid";
  }
}

/** No Redis could be had: none given, no redis-server binary, no container runtime. */
export class NoRedisAvailable extends CliError {
  readonly _tag = "NoRedisAvailable" as const;
  readonly exitCode = ExitCode.Failure;
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(
      `no Redis available (${reason}). Pass --redis redis://host:port, install redis-server (e.g. apt-get install redis-server), ` +
        `start a container runtime, or run an in-process ensemble with \`corral up --in-memory\``,
      options,
    );
    this.name = "NoRedisAvailable";
  }
}

/** A child process (redis-server, a node) failed to start or died during start-up. */
export class StartFailed extends CliError {
  readonly _tag = "StartFailed" as const;
  readonly exitCode = ExitCode.Failure;
  constructor(readonly what: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`${what} failed to start: ${reason}`, options);
    this.name = "StartFailed";
  }
}

/** The ensemble did not elect a leader within the deadline. */
export class NoLeader extends CliError {
  readonly _tag = "NoLeader" as const;
  readonly exitCode = ExitCode.Failure;
  constructor(readonly waitedMs: number) {
    super(`the ensemble elected no leader within ${waitedMs} ms`);
    this.name = "NoLeader";
  }
}

/** A feature another package has not delivered yet (e.g. `corral bench`). */
export class NotAvailable extends CliError {
  readonly _tag = "NotAvailable" as const;
  readonly exitCode = ExitCode.Failure;
  constructor(readonly feature: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`${feature} is not yet available: ${reason}`, options);
    this.name = "NotAvailable";
  }
}

export type CorralCliError = UsageError | ConfigError | EnsembleNotFound | EnsembleFileInvalid | NoRedisAvailable | StartFailed | NoLeader | NotAvailable;

export function isCliError(value: unknown): value is CorralCliError {
  return value instanceof CliError;
}
