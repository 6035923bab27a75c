/** Typed failures of a node (configuration and invariants). */

export class InvalidNodeConfig extends Error {
  readonly _tag = "InvalidNodeConfig";
  readonly code = "INVALID_NODE_CONFIG";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid node config: ${field}: ${reason}`);
    this.name = "InvalidNodeConfig";
  }
}

export class NodeInvariantViolation extends Error {
  readonly _tag = "NodeInvariantViolation";
  readonly code = "NODE_INVARIANT_VIOLATION";
  constructor(message: string) {
    super(message);
    this.name = "NodeInvariantViolation";
  }
}

export function nodeInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new NodeInvariantViolation(message);
}

/** A live node on a Redis network was given no cluster key file (and is not in test mode). */
export class ClusterKeyRequired extends Error {
  readonly _tag = "ClusterKeyRequired";
  readonly code = "CLUSTER_KEY_REQUIRED";
  constructor() {
    super(
      "a node on a Redis network needs a cluster key file (--cluster-key-file FILE or CORRAL_CLUSTER_KEY_FILE): " +
        "every node of the ensemble gets the same file of keyId:base64key lines; make one with `corral keygen --out FILE` " +
        "or `printf 'k1:%s\\n' \"$(openssl rand -base64 32)\" > FILE && chmod 600 FILE` (see docs/security.md)",
    );
    this.name = "ClusterKeyRequired";
  }
}

/** The cluster key file cannot be read or is not a valid key file. */
export class ClusterKeyFileUnusable extends Error {
  readonly _tag = "ClusterKeyFileUnusable";
  readonly code = "CLUSTER_KEY_FILE_UNUSABLE";
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cluster key file ${path}: ${reason}`, options);
    this.name = "ClusterKeyFileUnusable";
  }
}

/** The incarnation file in the data directory is unreadable or corrupt: refusing to guess an epoch lower than a previous run's. */
export class IncarnationFileInvalid extends Error {
  readonly _tag = "IncarnationFileInvalid";
  readonly code = "INCARNATION_FILE_INVALID";
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`incarnation file ${path}: ${reason}`, options);
    this.name = "IncarnationFileInvalid";
  }
}

/**
 * An error with its chain of causes, one line ("StorageFailedError: durable
 * log failed during save; restart to recover <- Error: ENOSPC: no space left
 * on device, write"), so a log line says why, not only what. Bounded depth.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(" <- ");
}
