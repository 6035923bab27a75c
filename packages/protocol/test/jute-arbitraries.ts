/** fast-check arbitraries for every jute record (shared by the jute tests). */
import fc from "fast-check";
import type {
  ZkACL,
  ZkConnectRequest,
  ZkConnectResponse,
  ZkMultiReadOp,
  ZkMultiResult,
  ZkMultiWriteOp,
  ZkRequest,
  ZkRequestOp,
  ZkResponse,
  ZkServerReply,
  ZkStat,
} from "../src/index.js";

export const arbInt32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
export const arbInt64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
export const arbString = fc.string({ unit: "grapheme", maxLength: 16 });
export const arbPath = fc.string({ unit: "grapheme", maxLength: 24 }).map((s) => `/${s}`);
export const arbBuffer = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
export const arbNullableString = fc.option(arbString, { nil: null });
export const arbAcl: fc.Arbitrary<ZkACL[]> = fc.array(fc.record({ perms: arbInt32, id: fc.record({ scheme: arbString, id: arbString }) }), { maxLength: 4 });
export const arbPaths = fc.array(arbPath, { maxLength: 4 });
export const arbStat: fc.Arbitrary<ZkStat> = fc.record({
  czxid: arbInt64,
  mzxid: arbInt64,
  ctime: arbInt64,
  mtime: arbInt64,
  version: arbInt32,
  cversion: arbInt32,
  aversion: arbInt32,
  ephemeralOwner: arbInt64,
  dataLength: arbInt32,
  numChildren: arbInt32,
  pzxid: arbInt64,
});

const create = fc.record({
  op: fc.constantFrom("create" as const, "create2" as const, "createContainer" as const),
  path: arbPath,
  data: arbBuffer,
  acl: arbAcl,
  flags: arbInt32,
});
const createTTL = fc.record({ op: fc.constant("createTTL" as const), path: arbPath, data: arbBuffer, acl: arbAcl, flags: arbInt32, ttl: arbInt64 });
const pathVersion = fc.record({ op: fc.constantFrom("delete" as const, "check" as const), path: arbPath, version: arbInt32 });
const setData = fc.record({ op: fc.constant("setData" as const), path: arbPath, data: arbBuffer, version: arbInt32 });
export const arbMultiWriteOp: fc.Arbitrary<ZkMultiWriteOp> = fc.oneof(create, createTTL, pathVersion, setData);
export const arbMultiReadOp: fc.Arbitrary<ZkMultiReadOp> = fc.record({
  op: fc.constantFrom("getData" as const, "getChildren" as const),
  path: arbPath,
  watch: fc.boolean(),
});

/** One arbitrary per request op, so every record is covered. */
export const requestArbitraries: Record<ZkRequestOp, fc.Arbitrary<ZkRequest>> = {
  create: create.map((r) => ({ ...r, op: "create" as const })),
  create2: create.map((r) => ({ ...r, op: "create2" as const })),
  createContainer: create.map((r) => ({ ...r, op: "createContainer" as const })),
  createTTL,
  delete: pathVersion.map((r) => ({ ...r, op: "delete" as const })),
  check: pathVersion.map((r) => ({ ...r, op: "check" as const })),
  exists: fc.record({ op: fc.constant("exists" as const), path: arbPath, watch: fc.boolean() }),
  getData: fc.record({ op: fc.constant("getData" as const), path: arbPath, watch: fc.boolean() }),
  getChildren: fc.record({ op: fc.constant("getChildren" as const), path: arbPath, watch: fc.boolean() }),
  getChildren2: fc.record({ op: fc.constant("getChildren2" as const), path: arbPath, watch: fc.boolean() }),
  setData,
  getACL: fc.record({ op: fc.constant("getACL" as const), path: arbPath }),
  sync: fc.record({ op: fc.constant("sync" as const), path: arbPath }),
  getAllChildrenNumber: fc.record({ op: fc.constant("getAllChildrenNumber" as const), path: arbPath }),
  setACL: fc.record({ op: fc.constant("setACL" as const), path: arbPath, acl: arbAcl, version: arbInt32 }),
  multi: fc.record({ op: fc.constant("multi" as const), ops: fc.array(arbMultiWriteOp, { maxLength: 5 }) }),
  multiRead: fc.record({ op: fc.constant("multiRead" as const), ops: fc.array(arbMultiReadOp, { maxLength: 5 }) }),
  reconfig: fc.record({
    op: fc.constant("reconfig" as const),
    joiningServers: arbNullableString,
    leavingServers: arbNullableString,
    newMembers: arbNullableString,
    curConfigId: arbInt64,
  }),
  checkWatches: fc.record({ op: fc.constant("checkWatches" as const), path: arbPath, type: arbInt32 }),
  removeWatches: fc.record({ op: fc.constant("removeWatches" as const), path: arbPath, type: arbInt32 }),
  auth: fc.record({ op: fc.constant("auth" as const), type: arbInt32, scheme: arbString, auth: arbBuffer }),
  setWatches: fc.record({
    op: fc.constant("setWatches" as const),
    relativeZxid: arbInt64,
    dataWatches: arbPaths,
    existWatches: arbPaths,
    childWatches: arbPaths,
  }),
  setWatches2: fc.record({
    op: fc.constant("setWatches2" as const),
    relativeZxid: arbInt64,
    dataWatches: arbPaths,
    existWatches: arbPaths,
    childWatches: arbPaths,
    persistentWatches: arbPaths,
    persistentRecursiveWatches: arbPaths,
  }),
  sasl: fc.record({ op: fc.constant("sasl" as const), token: arbBuffer }),
  getEphemerals: fc.record({ op: fc.constant("getEphemerals" as const), prefixPath: arbPath }),
  addWatch: fc.record({ op: fc.constant("addWatch" as const), path: arbPath, mode: arbInt32 }),
  ping: fc.constant({ op: "ping" as const }),
  whoAmI: fc.constant({ op: "whoAmI" as const }),
  closeSession: fc.constant({ op: "closeSession" as const }),
};
export const arbRequest: fc.Arbitrary<ZkRequest> = fc.oneof(...Object.values(requestArbitraries));

const arbWriteResult: fc.Arbitrary<ZkMultiResult> = fc.oneof(
  fc.record({ op: fc.constant("create" as const), path: arbPath }),
  fc.record({ op: fc.constant("create2" as const), path: arbPath, stat: arbStat }),
  fc.constant({ op: "delete" as const }),
  fc.record({ op: fc.constant("setData" as const), stat: arbStat }),
  fc.constant({ op: "check" as const }),
  fc.record({ op: fc.constant("error" as const), err: arbInt32 }),
);
const arbReadResult: fc.Arbitrary<ZkMultiResult> = fc.oneof(
  fc.record({ op: fc.constant("getData" as const), data: arbBuffer, stat: arbStat }),
  fc.record({ op: fc.constant("getChildren" as const), children: arbPaths }),
  fc.record({ op: fc.constant("error" as const), err: arbInt32 }),
);

/** One arbitrary per request op: the successful reply body to it. */
export const responseArbitraries: Record<ZkRequestOp, fc.Arbitrary<ZkResponse>> = {
  create: fc.record({ op: fc.constant("create" as const), path: arbPath }),
  create2: fc.record({ op: fc.constant("create2" as const), path: arbPath, stat: arbStat }),
  createContainer: fc.record({ op: fc.constant("createContainer" as const), path: arbPath, stat: arbStat }),
  createTTL: fc.record({ op: fc.constant("createTTL" as const), path: arbPath, stat: arbStat }),
  exists: fc.record({ op: fc.constant("exists" as const), stat: arbStat }),
  setData: fc.record({ op: fc.constant("setData" as const), stat: arbStat }),
  setACL: fc.record({ op: fc.constant("setACL" as const), stat: arbStat }),
  check: fc.record({ op: fc.constant("check" as const), stat: arbStat }),
  getData: fc.record({ op: fc.constant("getData" as const), data: arbBuffer, stat: arbStat }),
  reconfig: fc.record({ op: fc.constant("reconfig" as const), data: arbBuffer, stat: arbStat }),
  getACL: fc.record({ op: fc.constant("getACL" as const), acl: arbAcl, stat: arbStat }),
  getChildren: fc.record({ op: fc.constant("getChildren" as const), children: arbPaths }),
  getChildren2: fc.record({ op: fc.constant("getChildren2" as const), children: arbPaths, stat: arbStat }),
  sync: fc.record({ op: fc.constant("sync" as const), path: arbPath }),
  multi: fc.record({ op: fc.constant("multi" as const), results: fc.array(arbWriteResult, { maxLength: 5 }) }),
  multiRead: fc.record({ op: fc.constant("multiRead" as const), results: fc.array(arbReadResult, { maxLength: 5 }) }),
  sasl: fc.record({ op: fc.constant("sasl" as const), token: arbBuffer }),
  getEphemerals: fc.record({ op: fc.constant("getEphemerals" as const), ephemerals: arbPaths }),
  getAllChildrenNumber: fc.record({ op: fc.constant("getAllChildrenNumber" as const), totalNumber: arbInt32 }),
  addWatch: fc.record({ op: fc.constant("addWatch" as const), err: arbInt32 }),
  whoAmI: fc.record({
    op: fc.constant("whoAmI" as const),
    clientInfo: fc.array(fc.record({ authScheme: arbString, user: arbString }), { maxLength: 3 }),
  }),
  delete: fc.constant({ op: "delete" as const }),
  ping: fc.constant({ op: "ping" as const }),
  checkWatches: fc.constant({ op: "checkWatches" as const }),
  removeWatches: fc.constant({ op: "removeWatches" as const }),
  auth: fc.constant({ op: "auth" as const }),
  setWatches: fc.constant({ op: "setWatches" as const }),
  setWatches2: fc.constant({ op: "setWatches2" as const }),
  closeSession: fc.constant({ op: "closeSession" as const }),
};

/** A reply to an ordinary xid (>= 0) together with the op it answers. */
export const arbReplyWithOp: fc.Arbitrary<{ op: ZkRequestOp; reply: ZkServerReply }> = fc.oneof(
  ...(Object.keys(responseArbitraries) as ZkRequestOp[]).map((op) =>
    fc
      .tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), arbInt64, responseArbitraries[op], fc.option(fc.integer({ min: -127, max: -1 }), { nil: undefined }))
      .map(([xid, zxid, response, err]) => ({
        op,
        reply:
          err === undefined
            ? ({ kind: "reply", header: { xid, zxid, err: 0 }, response } as const)
            : ({ kind: "reply", header: { xid, zxid, err }, response: null } as const),
      })),
  ),
  fc
    .record({ zxid: arbInt64, type: arbInt32, state: arbInt32, path: arbPath })
    .map(({ zxid, type, state, path }) => ({
      op: "ping" as ZkRequestOp,
      reply: { kind: "notification", header: { xid: -1, zxid, err: 0 }, event: { type, state, path } } as const,
    })),
);

export const arbConnectRequest: fc.Arbitrary<ZkConnectRequest> = fc
  .tuple(arbInt32, arbInt64, arbInt32, arbInt64, arbBuffer, fc.option(fc.boolean(), { nil: undefined }))
  .map(([protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly]) =>
    readOnly === undefined ? { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd } : { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly },
  );
export const arbConnectResponse: fc.Arbitrary<ZkConnectResponse> = fc
  .tuple(arbInt32, arbInt32, arbInt64, arbBuffer, fc.option(fc.boolean(), { nil: undefined }))
  .map(([protocolVersion, timeOut, sessionId, passwd, readOnly]) =>
    readOnly === undefined ? { protocolVersion, timeOut, sessionId, passwd } : { protocolVersion, timeOut, sessionId, passwd, readOnly },
  );
