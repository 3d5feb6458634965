// A brokered job's gh login: the host's token read off hosts.yml in both of gh's layouts (or the fix named), and the
// job's own gh folder, a placeholder login whose config sends gh to the broker's socket.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ghPlaceholderFiles, hostGhToken } from '../../controller/lanes/gh-login.js';

describe("the host's gh login", () => {
  it('is the github.com entry, in the old and the multi-account form', () => {
    expect(hostGhToken('github.com:\n  oauth_token: gho_a\n  user: u\n')).toEqual({ token: 'gho_a', user: 'u' });
    expect(hostGhToken('github.com:\n  users:\n    u:\n      oauth_token: gho_b\n  user: u\n')).toEqual({
      token: 'gho_b',
      user: 'u',
    });
  });

  it('names the fix when the token is in the keyring, or there is no login', () => {
    expect(hostGhToken('github.com:\n  users:\n    u:\n  user: u\n')).toMatchObject({
      error: expect.stringContaining('gh auth login --insecure-storage'),
    });
    expect(hostGhToken('ghe.example.com:\n  oauth_token: x\n')).toMatchObject({ error: expect.any(String) });
    expect(hostGhToken(undefined)).toMatchObject({ error: expect.any(String) });
  });

  it("gives the job a placeholder login and the host's settings with the broker's socket", () => {
    const files = ghPlaceholderFiles(
      {
        hostsYml:
          'github.com:\n  oauth_token: gho_a\n  user: u\n  git_protocol: ssh\nghe.example.com:\n  oauth_token: gho_e\n',
        configYml: 'editor: vim\nhttp_unix_socket: /elsewhere\n',
      },
      'factory-broker-gh',
      '/home/runner/.config/gh/gh.sock',
    );
    expect(parse(files['hosts.yml'])).toEqual({
      'github.com': {
        users: { u: { oauth_token: 'factory-broker-gh' } },
        git_protocol: 'ssh',
        oauth_token: 'factory-broker-gh',
        user: 'u',
      },
    });
    expect(parse(files['config.yml'])).toEqual({
      editor: 'vim',
      version: '1',
      http_unix_socket: '/home/runner/.config/gh/gh.sock',
    });
  });
});
