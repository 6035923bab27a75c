/**
 * Entry points other packages deliver: the server's `runNode`, the client's
 * live `connect`, the bench runner. Looked up at run time so the CLI builds
 * and its other commands work while one of them is still missing; a missing
 * one is a typed NotAvailable error, never a crash.
 */
import type { Client } from "@corral/client";
import { NotAvailable } from "./errors.js";

export interface LiveConnectOptions {
  readonly cluster: string;
  readonly redis: string;
  readonly nodes?: readonly string[];
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

type ConnectFunction = (options: LiveConnectOptions) => Promise<Client>;

async function lookup<T>(specifier: string, name: string, feature: string): Promise<T> {
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new NotAvailable(feature, `cannot load ${specifier}`, { cause: error });
  }
  const value = module[name];
  if (typeof value !== "function") throw new NotAvailable(feature, `${specifier} does not export ${name} yet`);
  return value as T;
}

export async function connectClient(options: LiveConnectOptions): Promise<Client> {
  const connect = await lookup<ConnectFunction>("@corral/client", "connect", "the live client (connect)");
  return connect(options);
}

export function loadServerModule(): Promise<Record<string, unknown>> {
  return import("@corral/server") as Promise<Record<string, unknown>>;
}
