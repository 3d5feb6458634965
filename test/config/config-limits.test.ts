// Inputs that once crashed the controller or made it spin: each is refused when the config is read, with its path.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';

const config = (extra: string, profiles = '[ci]') => `
github:
  auth: { tokenEnv: GH_TOKEN }
  webhook: { secret: { env: WEBHOOK_SECRET } }
${extra}
profiles:
  ci: { labels: [self-hosted, ci], image: x }
repos:
  - { repo: org/app, profiles: ${profiles} }
`;
const problemsOf = (text: string) => {
  const r = parseConfig(text);
  return r.ok ? [] : r.problems;
};

describe('config limits', () => {
  it("bounds every duration, naming the key: a 30-day interval would overflow Node's timer and reconcile every millisecond", () => {
    expect(problemsOf(config('reconcileInterval: 30d'))).toEqual([
      'reconcileInterval: expected a duration between 1s and 1d, got "30d"',
    ]);
    expect(problemsOf(config('reconcileInterval: 1ms'))).toEqual([
      'reconcileInterval: expected a duration between 1s and 1d, got "1ms"',
    ]);
    expect(problemsOf(config('bootTimeout: 2d'))).toEqual([
      'bootTimeout: expected a duration between 1s and 1d, got "2d"',
    ]);
    expect(problemsOf(config('jobTimeout: 6d'))).toEqual([
      'jobTimeout: expected a duration between 60s and 5d, got "6d"',
    ]);
    expect(problemsOf(config('reconcileInterval: 2s\nbootTimeout: 3s\njobTimeout: 5d'))).toEqual([]);
  });

  it('looks profiles up as own properties: `constructor` names no profile', () => {
    expect(problemsOf(config('', '[constructor]'))).toEqual([
      'repos[0].profiles[0]: unknown profile "constructor" (defined: ci)',
    ]);
    expect(problemsOf(config('', '[__proto__]'))).toEqual([
      'repos[0].profiles[0]: unknown profile "__proto__" (defined: ci)',
    ]);
  });
});
