// A repeating timer whose period can change while it runs (a reloaded reconcileInterval).
export function repeat(run: () => void, ms: number) {
  let period = ms;
  let timer = setInterval(run, period);
  return {
    /** A changed period restarts the timer: the next run is a whole new period away. */
    every(next: number): void {
      if (next === period) return;
      clearInterval(timer);
      period = next;
      timer = setInterval(run, period);
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
