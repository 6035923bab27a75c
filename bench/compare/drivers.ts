/**
 * The systems the comparison can drive. Adding one is a one-file change plus
 * one line here: write bench/compare/driver-<name>.ts exporting a
 * `DriverFactory` (see types.ts) and list it below.
 */
import type { DriverFactory, SystemName } from "./types.js";
import { corralDriverFactory, corralTcpDriverFactory, corralZkDriverFactory } from "./driver-corral.js";
import { etcdDriverFactory } from "./driver-etcd.js";
import { zookeeperDriverFactory } from "./driver-zookeeper.js";

export const drivers: Partial<Record<SystemName, DriverFactory>> = {
  zookeeper: zookeeperDriverFactory,
  etcd: etcdDriverFactory,
  corral: corralDriverFactory,
  "corral-tcp": corralTcpDriverFactory,
  "corral-zk": corralZkDriverFactory,
};

/** Order of columns in the table: Corral first when present, then the peers. */
export const systemOrder: readonly SystemName[] = ["corral", "corral-tcp", "corral-zk", "zookeeper", "etcd"];
