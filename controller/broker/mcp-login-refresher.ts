// The one refresher of a hosted MCP server's OAuth login: the entry the host's claude keeps for it in its
// `.credentials.json` (`mcpOAuth[claudeMcpOAuthKey(name, url)]`, made by `/mcp` in a browser). A brokered job never
// holds the login, so only the host redeems its refresh token: under the lock the model login's refresher and the
// write-backs take on that file, re-reading it inside the lock (another refresher, or another controller, may have
// refreshed meanwhile; providers rotate refresh tokens and refuse a spent one), and writing the merged entry back
// atomically with every other field as it found it. The token endpoint comes from the authorization server's metadata
// (RFC 8414), found where the login was made (its discoveryState) or from the server's protected-resource metadata
// (RFC 9728), as the MCP spec has clients do (oauth-token-server.ts).
import { readFile } from 'node:fs/promises';
import { discoverTokenServer, redeemRefreshToken, type TokenAnswer, type TokenServer } from './oauth-token-server.js';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import { withFileLock } from '../../lane-contract/file-lock.js';
import { errorMessage } from '../util/error-message.js';
import { mcpLoginEntry, mergedMcpLogin, mcpLoginFix, type McpLoginEntry } from './mcp-login.js';

type Fetch = typeof fetch;
/** Refreshed this long before it expires, so no request leaves with a token about to lapse. */
const MARGIN_MS = 60_000;

export interface McpLoginId {
  /** The host's claude credentials file. */
  file: string;
  /** The entry's key in its `mcpOAuth` (claudeMcpOAuthKey). */
  key: string;
  /** The server's name, for messages. */
  server: string;
}

export class McpLoginRefresher {
  /** How many times this process redeemed the entry's refresh token (for the tests and the log). */
  refreshes = 0;
  private found: TokenServer | undefined;

  constructor(
    private readonly id: McpLoginId,
    private readonly deps: { fetch?: Fetch; now?: () => number } = {},
  ) {}

  private now = () => (this.deps.now ?? Date.now)();

  /** The entry's access token as the host file has it now, refreshed first when it has expired or is about to. */
  async current(): Promise<string> {
    const entry = await this.read();
    if (!this.expiring(entry)) return entry.accessToken;
    return this.refresh(entry.accessToken);
  }

  /** The server refused `used`: refresh, unless the host file already holds another token. */
  async rejected(used: string): Promise<string> {
    return this.refresh(used, true);
  }

  private expiring(entry: McpLoginEntry): boolean {
    return entry.expiresAt !== undefined && entry.expiresAt - this.now() < MARGIN_MS;
  }

  private async read(): Promise<McpLoginEntry> {
    const text = await readFile(this.id.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      // A missing file is a claude that never logged in; any other failure is the host's to fix, not a login.
      if (err.code === 'ENOENT') return undefined;
      throw new Error(`the controller cannot read the host's claude credentials (${err.code ?? err.message})`);
    });
    const entry = mcpLoginEntry(text, this.id.key);
    if (!entry) throw new Error(`the host's claude has no login for ${this.id.server}; ${mcpLoginFix(this.id.server)}`);
    return entry;
  }

  private refresh(stale: string, refused = false): Promise<string> {
    return withFileLock(this.id.file, async () => {
      const entry = await this.read();
      // Someone refreshed while this waited: theirs is the login now.
      if (entry.accessToken !== stale && !this.expiring(entry)) return entry.accessToken;
      if (!entry.refreshToken) {
        // Nothing to refresh with: a token the server has not refused yet is still worth sending.
        if (!refused && (entry.expiresAt ?? Infinity) > this.now()) return entry.accessToken;
        const what = refused ? `was refused by ${this.id.server}` : 'has expired';
        throw new Error(
          `the host's login for ${this.id.server} ${what} and holds no refresh token; ${mcpLoginFix(this.id.server, true)}`,
        );
      }
      let tokens: TokenAnswer;
      try {
        tokens = await this.redeem(entry);
      } catch (err) {
        // The host's own claude, which takes no lock of ours, may have refreshed first: its login is the login now.
        const now = await this.read().catch(() => undefined);
        if (now && now.refreshToken !== entry.refreshToken && !this.expiring(now)) return now.accessToken;
        throw err;
      }
      this.refreshes += 1;
      // The file as it is now, not as read above: only this entry changes.
      const text = mergedMcpLogin(await readFile(this.id.file, 'utf8'), this.id.key, tokens, this.now());
      await replaceFileAtomically(this.id.file, text);
      return tokens.access_token;
    });
  }

  private async redeem(entry: McpLoginEntry): Promise<TokenAnswer> {
    const at = await this.tokenServer(entry);
    const client = { clientId: entry.clientId ?? '', clientSecret: entry.clientSecret };
    try {
      return await redeemRefreshToken(at, client, entry.refreshToken!, this.deps.fetch);
    } catch (err) {
      throw new Error(
        `${this.id.server}'s authorization server (${at.tokenEndpoint}) refused the host's refresh (${errorMessage(err)}); ${mcpLoginFix(this.id.server, true)}`,
      );
    }
  }

  /**
   * The token server, discovered once per login while its metadata answers (a server down a moment is asked again at
   * the next refresh), from the login's discoveryState as claude recorded it.
   */
  private async tokenServer(entry: McpLoginEntry): Promise<TokenServer> {
    if (this.found) return this.found;
    const at = await discoverTokenServer(entry.serverUrl, entry.discoveryState ?? {}, this.deps.fetch);
    if (at.discovered) this.found = at;
    return at;
  }
}

/** One refresher per hosted MCP login (credentials file and entry) in this process, whichever jobs use it. */
export class McpLoginRefreshers {
  private readonly byEntry = new Map<string, McpLoginRefresher>();

  constructor(private readonly deps: { fetch?: Fetch; now?: () => number } = {}) {}

  for(id: McpLoginId): McpLoginRefresher {
    const key = `${id.file}\0${id.key}`;
    let r = this.byEntry.get(key);
    if (!r) this.byEntry.set(key, (r = new McpLoginRefresher(id, this.deps)));
    return r;
  }
}
