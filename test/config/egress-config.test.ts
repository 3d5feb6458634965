// A profile's `egress` at the config edge: what an entry means, and every refusal naming its config path.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/config.js';

function config(lane: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir: '/var/lib/factory-test',
    profiles: { lane: { labels: ['self-hosted', 'lane'], image: 'lane:1', trusted: true, ...lane } },
    repos: [{ repo: 'o/r', profiles: ['lane'] }],
    ...extra,
  };
}
const parsed = (lane: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseConfig(stringify(config(lane, extra)));
const problems = (lane: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const r = parsed(lane, extra);
  return r.ok ? [] : r.problems;
};

describe('egress on a profile', () => {
  it('reads names, wildcards, ports and loopback services', () => {
    const r = parsed({
      egress: {
        allow: ['api.anthropic.com', '*.Sentry.io', 'mcp.example.com:8443'],
        loopback: ['127.0.0.1:3100', 'localhost:8931', 9000],
      },
    });
    expect(r.ok && r.config.profiles.lane!.egress).toEqual({
      allow: [{ host: 'api.anthropic.com' }, { host: '*.sentry.io' }, { host: 'mcp.example.com', port: 8443 }],
      loopback: [3100, 8931, 9000],
    });
  });

  it('is absent unless written, and empty lists allow nothing', () => {
    const r = parsed({});
    expect(r.ok && r.config.profiles.lane!.egress).toBeUndefined();
    const e = parsed({ egress: {} });
    expect(e.ok && e.config.profiles.lane!.egress).toEqual({ allow: [], loopback: [] });
  });

  it('names the entry that is an address, too wide, or not a loopback service', () => {
    expect(problems({ egress: { allow: ['api.test', '10.0.0.8'] } })).toEqual([
      'profiles.lane.egress.allow[1]: egress is allowed by host name, not by address (an address bypasses the resolver), got "10.0.0.8"',
    ]);
    expect(problems({ egress: { allow: ['*.io'] } })).toEqual([
      expect.stringMatching(/^profiles\.lane\.egress\.allow\[0\]: "\*\.io" is too wide/),
    ]);
    expect(problems({ egress: { loopback: ['10.0.0.1:3100'] } })).toEqual([
      expect.stringMatching(
        /^profiles\.lane\.egress\.loopback\[0\]: expected a loopback service such as "127\.0\.0\.1:3100"/,
      ),
    ]);
    expect(problems({ egress: { allow: [], extra: 1 } })).toEqual([expect.stringMatching(/^profiles\.lane\.egress: /)]);
  });

  it('refuses a loopback port the gateway already serves on, or one listed twice', () => {
    expect(problems({ egress: { allow: ['a.test:8443'], loopback: [443, 8443, 53, 3128, 3100, 3100, 3129] } })).toEqual(
      [
        expect.stringMatching(
          /^profiles\.lane\.egress\.loopback\[0\]: port 443 is a port the gateway serves allowed names on/,
        ),
        expect.stringMatching(/^profiles\.lane\.egress\.loopback\[1\]: port 8443 is a port the gateway serves/),
        "profiles.lane.egress.loopback[2]: port 53 is the gateway's own resolver port",
        "profiles.lane.egress.loopback[3]: port 3128 is the gateway's own proxy port",
        'profiles.lane.egress.loopback[5]: port 3100 is listed twice',
        "profiles.lane.egress.loopback[6]: port 3129 is the gateway's own model broker port",
      ],
    );
  });

  it('refuses whatever gives the job a way out beside the gateway', () => {
    expect(problems({ egress: {}, network: 'host' })).toEqual([
      expect.stringMatching(
        /^profiles\.lane\.network: profile "lane": with egress the job sits on a network of its own/,
      ),
    ]);
    expect(problems({ egress: {}, network: 'container:db' })).toEqual([
      expect.stringMatching(/^profiles\.lane\.network: /),
    ]);
    expect(problems({ egress: {}, allowDockerSocket: true, dockerSocketReason: 'r' })).toContainEqual(
      expect.stringMatching(/^profiles\.lane\.allowDockerSocket: .*around the egress gateway/),
    );
    expect(problems({ egress: {}, placement: ['node.hostname == a'] }, { backend: 'swarm' })).toContainEqual(
      expect.stringMatching(/^profiles\.lane\.egress: .*backend swarm cannot place the two together/),
    );
    expect(problems({ egress: {}, network: 'lanes-out', docker: { sidecar: true } })).toEqual([
      expect.stringMatching(/^profiles\.lane\.docker: .*behind an egress gateway is not supported yet/),
    ]);
    expect(problems({ egress: {}, capAdd: ['NET_ADMIN', 'CHOWN'] })).toEqual([
      expect.stringMatching(/^profiles\.lane\.capAdd: profile "lane": NET_ADMIN lets the job forge packets/),
    ]);
    expect(problems({ egress: {}, network: 'lanes-out' })).toEqual([]);
  });
});
