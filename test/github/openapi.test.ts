import { describe, expect, it } from 'vitest';
import { assertRequest, assertResponse } from '../support/openapi.js';

describe('OpenAPI validator', () => {
  it('accepts a JIT config request shaped like the documented one', () => {
    expect(() =>
      assertRequest('POST', '/repos/o/r/actions/runners/generate-jitconfig', {
        name: 'x',
        runner_group_id: 1,
        labels: ['self-hosted'],
        work_folder: '_work',
      }),
    ).not.toThrow();
  });

  it('rejects a JIT config request without labels', () => {
    expect(() =>
      assertRequest('POST', '/repos/o/r/actions/runners/generate-jitconfig', { name: 'x', runner_group_id: 1 }),
    ).toThrow(/labels/);
  });

  it('rejects a runner list response whose runner lacks status', () => {
    const runner = { id: 1, name: 'r', os: 'linux', busy: false, labels: [] };
    expect(() =>
      assertResponse('GET', '/repos/o/r/actions/runners', 200, { total_count: 1, runners: [runner] }),
    ).toThrow(/status/);
  });

  it('rejects a status the operation does not document', () => {
    expect(() => assertResponse('DELETE', '/repos/o/r/actions/runners/5', 418, undefined)).toThrow(/418/);
  });

  it('checks the org routes too: the org JIT request, and the runner groups answer', () => {
    expect(() =>
      assertRequest('POST', '/orgs/acme/actions/runners/generate-jitconfig', { name: 'x', runner_group_id: 2 }),
    ).toThrow(/labels/);
    expect(() =>
      assertResponse('GET', '/orgs/acme/actions/runner-groups', 200, { total_count: 1, runner_groups: [{ id: 1 }] }),
    ).toThrow(/name/);
  });
});
