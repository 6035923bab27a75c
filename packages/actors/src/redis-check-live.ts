/**
 * One real connection attempt to Redis with a node's credentials, at start:
 * does Redis accept them? (Live: real sockets and timers, so the
 * determinism lint exempts this *-live.ts file.)
 */
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { Redis, type RedisOptions } from "ioredis";
import { RedisAuthFailed, redactRedisUrl } from "./redis-auth.js";

/** Longest wait for the reason a failed connection closed. */
const LATE_ERROR_WAIT_MS = 1_000;
const MAX_ERRORS_KEPT = 16;
const AUTH_REFUSED = /WRONGPASS|NOAUTH|NOPERM|invalid username-password|invalid password|AUTH failed|user is disabled/i;
const TLS_FAILED = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|HOSTNAME_MISMATCH)/;

/**
 * One connection attempt with `options` (AUTH, then PING): "ok", or
 * "unreachable" when Redis does not answer within `timeoutMs` (a node then
 * starts anyway and retries, as for any network outage). A refused password
 * or user, a missing permission, or a failed TLS handshake throw
 * RedisAuthFailed: those do not heal by retrying.
 */
/**
 * How long after its handshake a TLS server has to refuse us (a missing or
 * unacceptable client certificate is refused only after the client's side
 * of a TLS 1.3 handshake is done).
 */
const TLS_VERDICT_WAIT_MS = 300;

/**
 * A TLS handshake alone, sending nothing: the server's alert (client
 * certificate required or refused) arrives reliably only if we have not
 * written yet, because a server that closes with our bytes unread resets the
 * connection and the alert is lost. undefined: accepted; else why not.
 */
function tlsVerdict(url: URL, tls: ConnectionOptions, timeoutMs: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const socket = tlsConnect({ servername: host, ...tls, host, port: url.port === "" ? 6379 : Number(url.port) });
    let timer = setTimeout(() => finish(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    const finish = (outcome: Error | undefined): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.destroy();
      resolve(outcome);
    };
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error("the server closed the connection after the TLS handshake (client certificate required or refused?)")));
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(undefined), TLS_VERDICT_WAIT_MS);
    });
  });
}

export async function checkRedisCredentials(url: string, options: RedisOptions, timeoutMs = 3_000): Promise<"ok" | "unreachable"> {
  const parsed = new URL(url);
  if (parsed.protocol === "rediss:") {
    const verdict = await tlsVerdict(parsed, (options.tls ?? {}) as ConnectionOptions, timeoutMs);
    if (verdict !== undefined) {
      const code = (verdict as NodeJS.ErrnoException).code ?? "";
      if (TLS_FAILED.test(code) || /certificate|handshake|SSL routines|alert/i.test(verdict.message)) {
        throw new RedisAuthFailed(redactRedisUrl(url), "tls", `${code === "" ? "" : `${code}: `}${verdict.message.slice(0, 200)}`, { cause: verdict });
      }
      return "unreachable";
    }
  }
  /** The connection's errors (bounded): the telling one (a TLS alert) may come after a plain "connection closed". */
  const errors: unknown[] = [];
  let onError: () => void = () => undefined;
  const connection = new Redis(url, {
    ...options,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    connectionName: "corral-credentials-check",
  });
  connection.on("error", (error: unknown) => {
    if (errors.length < MAX_ERRORS_KEPT) errors.push(error);
    onError();
  });
  const refusal = (candidates: readonly unknown[]): RedisAuthFailed | undefined => {
    for (const candidate of candidates) {
      if (!(candidate instanceof Error)) continue;
      const code = (candidate as NodeJS.ErrnoException).code ?? "";
      if (AUTH_REFUSED.test(candidate.message)) return new RedisAuthFailed(redactRedisUrl(url), "auth", candidate.message.split("\n")[0]!.slice(0, 200), { cause: candidate });
      if (TLS_FAILED.test(code) || /certificate|handshake|SSL routines|alert/i.test(candidate.message)) {
        return new RedisAuthFailed(redactRedisUrl(url), "tls", `${code === "" ? "" : `${code}: `}${candidate.message.slice(0, 200)}`, { cause: candidate });
      }
    }
    return undefined;
  };
  try {
    await connection.connect();
    const reply = await connection.ping();
    return reply === "PONG" ? "ok" : "unreachable";
  } catch (error) {
    // ioredis may report why the connection closed (a TLS alert from the server) only after the command failed:
    // wait for that error, bounded, before deciding what kind of failure this was.
    if (refusal([error, ...errors]) === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LATE_ERROR_WAIT_MS);
        onError = () => {
          if (refusal(errors) === undefined) return;
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const refused = refusal([error, ...errors]);
    if (refused !== undefined) throw refused;
    return "unreachable";
  } finally {
    connection.disconnect();
  }
}
