/** One broken invariant found by a checker: which checker, and what it saw. */
export interface Violation {
  readonly checker: "raft" | "digest" | "linearizability" | "session" | "watch" | "fencing" | "liveness" | "crash";
  readonly message: string;
}

/** Collects violations; keeps the first few (a broken run tends to repeat itself). */
export class Violations {
  readonly list: Violation[] = [];
  constructor(private readonly max = 20) {}
  add(checker: Violation["checker"], message: string): void {
    if (this.list.length < this.max) this.list.push({ checker, message });
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
}
