// How many cases a property test draws. The unit layer draws a quarter, enough to hit every event on every run; the
// deep project (vitest.config.ts) runs the same property files again with PROPERTY_RUNS=full, at the depth written.
export const propertyRuns = (full: number): number =>
  process.env.PROPERTY_RUNS === 'full' ? full : Math.max(10, Math.ceil(full / 4));
