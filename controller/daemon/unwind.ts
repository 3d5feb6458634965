// What the service has started, undone in reverse order: a start that fails half-way and a stop take the same
// path, so the two never disagree about what needs closing or in which order.
export class Unwind {
  private readonly steps: Array<() => unknown> = [];

  /** `undo` runs after the undo of everything added later. */
  push(undo: () => unknown): void {
    this.steps.push(undo);
  }

  /** Runs `start`; when it throws, undoes everything started so far and throws its error. */
  async guard<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.run().catch(() => {});
      throw err;
    }
  }

  /** Every undo, last added first; one that fails does not keep the others from running, and its error is thrown. */
  async run(): Promise<void> {
    let failure: { err: unknown } | undefined;
    for (let undo = this.steps.pop(); undo; undo = this.steps.pop()) {
      try {
        await undo();
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure) throw failure.err;
  }
}
