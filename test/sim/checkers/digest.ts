/** Replicas that applied the same prefix hold the same tree: equal digests at equal applied index. */
import type { Violations } from "./violation.js";

export class DigestChecker {
  private readonly byIndex = new Map<number, { digest: string; nodeId: string }>();
  comparisons = 0;

  constructor(private readonly violations: Violations) {}

  observe(nodeId: string, appliedIndex: number, digest: string): void {
    const known = this.byIndex.get(appliedIndex);
    if (known === undefined) {
      this.byIndex.set(appliedIndex, { digest, nodeId });
      return;
    }
    this.comparisons++;
    if (known.digest !== digest) {
      this.violations.add("digest", `digest mismatch at applied index ${appliedIndex}: ${known.nodeId} ${known.digest}, ${nodeId} ${digest}`);
    }
  }
}
