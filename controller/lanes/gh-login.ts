// The gh login of a brokered job: the host's token read off its hosts.yml (for the broker, at each request), and the
// job's own gh folder, whose token is a placeholder and whose config sends every API call over a unix socket in that
// folder, where the controller's gh broker answers (broker/gh-broker.ts). gh (go-gh) dials that socket for every
// host, TLS included, and speaks plain HTTP over it. Pure: the release and the broker both ask.
import { parse, stringify } from 'yaml';

/** The gh login host the broker serves: gh's own github.com entry. */
export const GH_HOST = 'github.com';
/** The broker's socket, in the job's gh folder beside the files that name it. */
export const GH_SOCKET = 'gh.sock';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function parseYaml(source: string | undefined): Json {
  if (source === undefined) return {};
  try {
    const v = parse(source) as unknown;
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

/**
 * The host's github.com login from its hosts.yml: the active account's `oauth_token` (gh writes it at the entry's top
 * level and, since gh 2.40, under `users.<name>` too), or why there is none. A login gh keeps in the system keyring
 * leaves no token in the file, and the controller does not read keyrings.
 */
export function hostGhToken(hostsYml: string | undefined): { token: string; user?: string } | { error: string } {
  if (hostsYml === undefined) return { error: 'no hosts.yml in the gh folder: log in with gh on the host' };
  const entry = parseYaml(hostsYml)[GH_HOST];
  if (!isObject(entry)) return { error: `hosts.yml has no ${GH_HOST} login: log in with gh on the host` };
  const user = text(entry.user);
  const users = isObject(entry.users) ? entry.users : {};
  const active = user && isObject(users[user]) ? text((users[user] as Json).oauth_token) : undefined;
  const token = text(entry.oauth_token) ?? active;
  if (token) return { token, ...(user ? { user } : {}) };
  return {
    error: `hosts.yml's ${GH_HOST} login has no oauth_token (gh keeps it in the system keyring, which the controller does not read): log in again with \`gh auth login --insecure-storage\` on the host`,
  };
}

/**
 * The job's gh folder: hosts.yml with `placeholder` as its github.com token (under the host's user name, in both the
 * old and the multi-account form, so any gh reads it without migrating a read-only folder), and the host's config.yml
 * with `http_unix_socket` set to the broker's socket as the container sees it. The host's other hosts are left out:
 * the broker serves github.com alone.
 */
export function ghPlaceholderFiles(
  host: { hostsYml?: string | undefined; configYml?: string | undefined },
  placeholder: string,
  socketInContainer: string,
): { 'hosts.yml': string; 'config.yml': string } {
  const entry = parseYaml(host.hostsYml)[GH_HOST];
  const user = (isObject(entry) && text(entry.user)) || 'factory';
  const protocol = (isObject(entry) && text(entry.git_protocol)) || 'https';
  const hosts = {
    [GH_HOST]: {
      users: { [user]: { oauth_token: placeholder } },
      git_protocol: protocol,
      oauth_token: placeholder,
      user,
    },
  };
  // The host's settings (aliases, editor, git_protocol) kept; a file that is not a map starts afresh.
  const config = parseYaml(host.configYml);
  const { http_unix_socket: _host, ...rest } = config;
  return {
    'hosts.yml': stringify(hosts),
    // version "1": the multi-account layout above, so a gh of 2.40 or later migrates nothing.
    'config.yml': stringify({ ...rest, version: '1', http_unix_socket: socketInContainer }),
  };
}
