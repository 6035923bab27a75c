import { CreateMode, OPEN_ACL_UNSAFE, type ClientOp } from "@corral/protocol";
import { createSimEnsemble, type SimEnsemble, type SimEnsembleOptions } from "../../../test/support/sim-ensemble.js";
import { SessionDriver } from "./support/session-driver.js";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

export const create = (path: string, data = "", mode: CreateMode = CreateMode.Persistent): ClientOp => ({
  type: "create",
  path,
  data: bytes(data),
  acl: OPEN_ACL_UNSAFE,
  mode,
});
export const setData = (path: string, data: string, version = -1): ClientOp => ({ type: "setData", path, data: bytes(data), version });
export const getData = (path: string, watch = false): ClientOp => ({ type: "getData", path, watch });

export async function ensembleWithLeader(options: SimEnsembleOptions): Promise<SimEnsemble> {
  const ensemble = await createSimEnsemble(options);
  await ensemble.waitForLeader();
  return ensemble;
}

/** A follower's id (any node that is not the current leader). */
export function follower(ensemble: SimEnsemble, index = 0): string {
  const leader = ensemble.leader()?.id;
  const followers = ensemble.nodeIds.filter((id) => id !== leader && ensemble.node(id) !== undefined);
  const id = followers[index];
  if (id === undefined) throw new Error("no follower");
  return id;
}

export async function connectedClient(ensemble: SimEnsemble, name: string, nodeId: string, timeoutMs = 6_000): Promise<SessionDriver> {
  const client = new SessionDriver(`c-${name}`, ensemble.clientEnv(name));
  await client.open();
  client.connect(nodeId, { timeoutMs });
  client.startPinging(Math.floor(timeoutMs / 3));
  if (!(await ensemble.runUntil(() => client.connected, 10_000))) throw new Error(`client ${name} did not connect to ${nodeId}`);
  return client;
}

export async function awaitResponse(ensemble: SimEnsemble, client: SessionDriver, xid: number, maxMs = 10_000) {
  await ensemble.runUntil(() => client.response(xid) !== undefined, maxMs);
  const response = client.response(xid);
  if (response === undefined) throw new Error(`no response for xid ${xid}`);
  return response;
}
