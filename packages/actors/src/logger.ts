import pino from "pino";
import type { Logger } from "./env.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface CreateLoggerOptions {
  readonly level?: LogLevel | "silent";
  readonly name?: string;
  readonly bindings?: Record<string, unknown>;
  /** Where JSON lines go; stdout when absent. */
  readonly destination?: { write(line: string): void };
}

/** A pino-backed Logger (JSON lines). */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: pino.LoggerOptions = { level: options.level ?? "info" };
  if (options.name !== undefined) pinoOptions.name = options.name;
  const base = options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
  const logger = options.bindings === undefined ? base : base.child(options.bindings);
  return wrapPino(logger);
}

function wrapPino(logger: pino.Logger): Logger {
  return {
    trace: (obj, msg) => logger.trace(obj, msg),
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
    fatal: (obj, msg) => logger.fatal(obj, msg),
    child: (bindings) => wrapPino(logger.child(bindings)),
  };
}

const noop = (): void => {};

/** Discards everything. */
export const nullLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => nullLogger,
};

export interface LogRecord {
  readonly level: LogLevel;
  readonly msg: string | undefined;
  readonly fields: Record<string, unknown>;
}

export interface MemoryLogger extends Logger {
  /** Records kept, oldest first; at most `maxRecords` (older ones are discarded). */
  readonly records: LogRecord[];
  /** Records discarded because the bound was hit. */
  readonly discarded: number;
}

/** Keeps records in memory for assertions in tests. Bounded: keeps the newest `maxRecords`. */
export function memoryLogger(options: { maxRecords?: number } = {}): MemoryLogger {
  const maxRecords = options.maxRecords ?? 10_000;
  const records: LogRecord[] = [];
  const state = { discarded: 0 };
  const make = (bindings: Record<string, unknown>): Logger => {
    const log =
      (level: LogLevel) =>
      (obj: object, msg?: string): void => {
        records.push({ level, msg, fields: { ...bindings, ...obj } });
        if (records.length > maxRecords) {
          records.shift();
          state.discarded++;
        }
      };
    return {
      trace: log("trace"),
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
      fatal: log("fatal"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  const root = make({});
  return {
    ...root,
    records,
    get discarded() {
      return state.discarded;
    },
  };
}
