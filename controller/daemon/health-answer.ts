// The webhook port's three health answers, apart so a supervisor restarts only what is dead:
//   /livez   the process serves HTTP: 200 while it answers at all (restart it when this fails)
//   /readyz  it can run jobs: 503 while Docker does not answer (take it out of rotation, do not restart it)
//   /healthz the summary: 503 only while Docker is down; a GitHub outage or a rejected token is "degraded" with 200,
//            because restarting the controller cannot bring GitHub back, and jobs wait for it either way.
// No error text on any of them: this port faces the internet (the loopback status endpoint has lastError).

export interface HealthFacts {
  dockerUp: boolean;
  github: string;
  queued: number;
  running: number;
}

export const HEALTH_PATHS = ['/livez', '/readyz', '/healthz'] as const;

export function healthAnswer(path: string, h: HealthFacts): { status: number; body: Record<string, unknown> } {
  if (path === '/livez') return { status: 200, body: { status: 'alive' } };
  const docker = h.dockerUp ? 'up' : 'down';
  if (path === '/readyz') return { status: h.dockerUp ? 200 : 503, body: { ready: h.dockerUp, docker } };
  // Unknown (GitHub not yet answered) is not a fault.
  const githubOk = h.github === 'ok' || h.github === 'unknown';
  return {
    status: h.dockerUp ? 200 : 503,
    body: {
      status: h.dockerUp && githubOk ? 'ok' : 'degraded',
      docker,
      github: h.github,
      queued: h.queued,
      running: h.running,
    },
  };
}
