// /livez, /readyz and /healthz apart: a GitHub outage is degraded, never a reason for a supervisor to restart.
import { describe, expect, it } from 'vitest';
import { healthAnswer } from '../../controller/daemon/health-answer.js';

const facts = (dockerUp: boolean, github: string) => ({ dockerUp, github, queued: 2, running: 1 });

describe('healthAnswer', () => {
  it('a GitHub outage or a rejected token is degraded with 200 on /healthz, and ready and alive', () => {
    for (const github of ['unreachable', 'unauthorised', 'rate-limited']) {
      expect(healthAnswer('/healthz', facts(true, github))).toEqual({
        status: 200,
        body: { status: 'degraded', docker: 'up', github, queued: 2, running: 1 },
      });
      expect(healthAnswer('/readyz', facts(true, github)).status).toBe(200);
      expect(healthAnswer('/livez', facts(true, github))).toEqual({ status: 200, body: { status: 'alive' } });
    }
  });

  it('Docker down is 503 on /healthz and /readyz, while /livez stays 200 (a restart would not bring Docker back)', () => {
    expect(healthAnswer('/healthz', facts(false, 'ok'))).toMatchObject({ status: 503, body: { status: 'degraded' } });
    expect(healthAnswer('/readyz', facts(false, 'ok'))).toEqual({
      status: 503,
      body: { ready: false, docker: 'down' },
    });
    expect(healthAnswer('/livez', facts(false, 'ok')).status).toBe(200);
  });

  it('all well is ok, with GitHub not yet answered counted as well', () => {
    expect(healthAnswer('/healthz', facts(true, 'unknown')).body.status).toBe('ok');
    expect(healthAnswer('/healthz', facts(true, 'ok'))).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});
