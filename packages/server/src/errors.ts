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
