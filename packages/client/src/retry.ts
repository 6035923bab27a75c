/**
 * Retry helpers in the spirit of Curator's RetryPolicy: bounded, jittered,
 * sleeping on the injected clock, and retrying only what is safe.
 *
 * Safe to retry always: TooManyRequests and Throttled (the ensemble refused
 * the call; nothing happened). Safe only for idempotent calls: ConnectionLoss
 * and OperationTimeout (the outcome is unknown: a read, a versioned setData or
 * a check may run again; a plain create or an unversioned delete may not).
 * Never retried: SessionExpired and every answer from the tree (NoNode,
 * BadVersion ...) — those are results, not failures of delivery.
 */
import type { Clock, Random } from "@corral/actors";
import { BadArgumentsError, isCorralError, type CorralError } from "@corral/protocol";

export interface RetryPolicy {
  /** The delay before retry number `retry` (1 = the first retry), given the time spent so far; undefined = give up. */
  nextDelayMs(retry: number, elapsedMs: number, random: Random): number | undefined;
}

export interface RetryOptions {
  /** The call may safely run twice (reads, versioned writes). Default false. */
  readonly idempotent?: boolean;
  /** Called before each sleep. */
  readonly onRetry?: (error: CorralError, retry: number, delayMs: number) => void;
}

/** What `withRetry` needs: a clock to sleep on and a jitter source. `CorralClient.retryEnv()` provides both. */
export interface RetryEnv {
  readonly clock: Clock;
  readonly random: Random;
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new BadArgumentsError(undefined, { cause: `${name} must be an integer >= ${min}` });
}

export const retryPolicy = {
  /** Curator's BoundedExponentialBackoffRetry: base * 2^(n-1), capped at maxMs, at most maxRetries retries, with equal jitter. */
  exponentialBackoff(options: { readonly baseMs: number; readonly maxMs: number; readonly maxRetries: number }): RetryPolicy {
    checkInt("baseMs", options.baseMs, 1);
    checkInt("maxMs", options.maxMs, options.baseMs);
    checkInt("maxRetries", options.maxRetries, 0);
    return {
      nextDelayMs(retry, _elapsedMs, random) {
        if (retry > options.maxRetries) return undefined;
        const capMs = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(retry - 1, 30));
        return Math.floor(capMs / 2) + random.int(Math.floor(capMs / 2) + 1);
      },
    };
  },
  /** Curator's RetryUntilElapsed: sleep `sleepMs` between tries until `maxElapsedMs` would be exceeded. */
  untilElapsed(options: { readonly maxElapsedMs: number; readonly sleepMs: number }): RetryPolicy {
    checkInt("maxElapsedMs", options.maxElapsedMs, 0);
    checkInt("sleepMs", options.sleepMs, 0);
    return {
      nextDelayMs(_retry, elapsedMs) {
        return elapsedMs + options.sleepMs > options.maxElapsedMs ? undefined : options.sleepMs;
      },
    };
  },
  /** Never retry. */
  none(): RetryPolicy {
    return { nextDelayMs: () => undefined };
  },
};

/** Whether `error` may be retried for a call that is (or is not) idempotent. */
export function isRetryable(error: unknown, idempotent: boolean): error is CorralError {
  if (!isCorralError(error)) return false;
  switch (error._tag) {
    case "TooManyRequests":
    case "Throttled":
      return true;
    case "ConnectionLoss":
    case "OperationTimeout":
      return idempotent;
    default:
      return false;
  }
}

/**
 * Run `fn`, retrying its safe failures under `policy`. Sleeps on the env's
 * clock (simulated time in tests). The last error is rethrown unchanged.
 */
export async function withRetry<T>(env: RetryEnv | { retryEnv(): RetryEnv }, fn: () => Promise<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<T> {
  const { clock, random } = "retryEnv" in env ? env.retryEnv() : env;
  const startedAt = clock.now();
  const idempotent = options.idempotent === true;
  for (let retry = 1; ; retry++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error, idempotent)) throw error;
      const delayMs = policy.nextDelayMs(retry, clock.now() - startedAt, random);
      if (delayMs === undefined) throw error;
      options.onRetry?.(error, retry, delayMs);
      await new Promise<void>((resolve) => clock.setTimer(delayMs, resolve));
    }
  }
}
