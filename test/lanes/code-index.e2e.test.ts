// A repo's code index end to end in the real lane image: `factory index build` indexes a small fixture repository in
// factory/base, and a second container, as the lane's agent user and without network, gets stateDir/codegraph
// read-only at /data/codegraph and runs the claude lane's codegraph server exactly as examples/factory.yml writes it.
// The official MCP client asks it what an agent would; the index it answers from is the prebuilt one, and a function
// written after the build is found too, so a stale index never leaves the lane blind. The last test pins why the lane
// serves a copy: codegraph on the index bound read-only fails.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../controller/commands/cli.js';
import { parseConfig, type McpServer } from '../../controller/config/config.js';
import { codeIndexRoot, INDEX_FACTS_FILE } from '../../controller/lanes/code-index.js';
import { ensureLocalBase } from '../support/local-base.js';
import { mcpInContainer, removeLabelled, runLabel } from '../support/offline-run.js';

const docker = new Docker();
const root = join(import.meta.dirname, '../..');
const FIXTURE = join(root, 'test/fixtures/code-index-repo');
const RUN_LABEL = runLabel('code-index');
const WORKSPACE = '/home/runner/_work/zoo/zoo';
let image: string;
let dir: string;
let stateDir: string;
let server: Extract<McpServer, { command: string }>;
let indexTarget: string;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=factory-test', '-c', 'user.email=test@factory.invalid', ...args], {
    cwd,
    stdio: 'ignore',
  });

/** The claude lane's codegraph server and the code index's data mount, as the example config has them. */
async function exampleLane() {
  const parsed = parseConfig(await readFile(join(root, 'examples/factory.yml'), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const claude = parsed.config.profiles.claude!;
  const codegraph = claude.mcp.find((s) => s.name === 'codegraph');
  if (!codegraph || !('command' in codegraph)) throw new Error('the example has no stdio codegraph server');
  const mount = claude.mounts.find((m) => m.kind === 'data' && m.source === codeIndexRoot(parsed.config.stateDir)) as
    { target: string } | undefined;
  if (!mount) throw new Error('the example mounts no code index');
  return { server: codegraph, target: mount.target };
}

/** A job's checkout: the fixture at the indexed commit, writable by the agent user, plus what `extra` adds. */
async function laneCheckout(extra: Record<string, string> = {}): Promise<string> {
  const checkout = await mkdtemp(join(dir, 'lane-'));
  await cp(FIXTURE, checkout, { recursive: true });
  for (const [file, text] of Object.entries(extra)) await writeFile(join(checkout, file), text);
  execFileSync('chmod', ['-R', 'a+rwX', checkout]);
  return checkout;
}

/** The lane's codegraph over stdio: `docker run -i` as the agent user, no network, the index read-only. */
const connect = (
  checkout: string,
  repo: string,
  run: { mounts: string[]; command: string[] } = {
    mounts: [`${codeIndexRoot(stateDir)}:${indexTarget}:ro`],
    command: [server.command, ...server.args],
  },
): Promise<Client> =>
  mcpInContainer(
    RUN_LABEL,
    {
      image,
      user: '1001:1001',
      env: { GITHUB_REPOSITORY: repo, ...server.env },
      mounts: [`${checkout}:${WORKSPACE}`, ...run.mounts],
      workdir: WORKSPACE,
    },
    run.command,
  );

async function explore(client: Client, query: string): Promise<string> {
  const result = await client.callTool({ name: 'codegraph_explore', arguments: { query } });
  return (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
}

beforeAll(async () => {
  image = await ensureLocalBase(docker);
  ({ server, target: indexTarget } = await exampleLane());
  dir = await mkdtemp(join(tmpdir(), 'factory-code-index-'));
  stateDir = join(dir, 'state');
  const repo = join(dir, 'repo');
  await cp(FIXTURE, repo, { recursive: true });
  git(repo, 'init', '--quiet');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'fixture');
  // An admin's checkout, not the controller's user's: git refuses a repository of another owner unless told it is safe.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', '4242:4242', repo]);
  const config = join(dir, 'factory.yml');
  await writeFile(
    config,
    [
      'github: { auth: { tokenEnv: FACTORY_TEST_TOKEN }, webhook: { secret: { env: FACTORY_TEST_SECRET } } }',
      `stateDir: ${stateDir}`,
      `profiles: { ci: { labels: [ci], image: ${image} } }`,
      'repos: [{ repo: acme/zoo, profiles: [ci] }]',
    ].join('\n'),
  );
  const err: string[] = [];
  const code = await main(
    ['index', 'build', '-c', config, '--repo', 'Acme/Zoo', '--checkout', repo, '--image', image],
    { stdout: () => {}, stderr: (s) => err.push(s) },
  );
  if (code !== 0) throw new Error(`factory index build exited ${code}: ${err.join('\n')}`);
}, 30 * 60_000);

afterAll(async () => {
  await removeLabelled(docker, RUN_LABEL);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a code index built by factory index build', () => {
  it("is published as the repo's link to a build holding the database and what it was built from", async () => {
    const link = join(codeIndexRoot(stateDir), 'acme', 'zoo');
    expect((await stat(link)).isDirectory()).toBe(true);
    expect((await readdir(link)).sort()).toEqual(['.gitignore', 'codegraph.db', INDEX_FACTS_FILE]);
    const facts = JSON.parse(await readFile(join(link, INDEX_FACTS_FILE), 'utf8'));
    expect(facts).toMatchObject({ repo: 'acme/zoo', image, codegraph: '1.6.1', files: 3 });
    expect(facts.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await readdir(join(codeIndexRoot(stateDir), 'acme'))).toHaveLength(2); // the link and its one build
  });
});

describe("the claude lane's codegraph over the read-only index", () => {
  let checkout: string;
  let client: Client;

  beforeAll(async () => {
    checkout = await laneCheckout({
      'src/extra.ts': 'export function tallyWeeklyOtterScore(xs: number[]): number {\n  return xs.length;\n}\n',
    });
    client = await connect(checkout, 'Acme/Zoo');
  }, 120_000);

  afterAll(async () => {
    await client?.close();
  });

  it("finds the fixture's function, with its file and its caller", async () => {
    const text = await explore(client, 'computeQuarterlyZebraInvoice');
    expect(text).toContain('src/billing.ts');
    expect(text).toContain('export function computeQuarterlyZebraInvoice');
    expect(text).toContain('src/report.ts');
  });

  it('finds a function written after the index was built: a stale index does not blind the lane', async () => {
    const text = await explore(client, 'tallyWeeklyOtterScore');
    expect(text).toContain('src/extra.ts');
    expect(text).toContain('export function tallyWeeklyOtterScore');
  });

  it('serves a copy of the prebuilt index in the checkout and leaves the published one as it was built', async () => {
    expect(await readdir(join(checkout, '.codegraph'))).toContain(INDEX_FACTS_FILE);
    const link = join(codeIndexRoot(stateDir), 'acme', 'zoo');
    expect((await readdir(link)).sort()).toEqual(['.gitignore', 'codegraph.db', INDEX_FACTS_FILE]);
  });
});

describe("the claude lane's codegraph for a repo without an index", () => {
  it('starts and answers all the same, with nothing indexed', async () => {
    const client = await connect(await laneCheckout(), 'acme/unindexed');
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('codegraph_explore');
      expect(await explore(client, 'computeQuarterlyZebraInvoice')).toContain('No CodeGraph project is loaded');
    } finally {
      await client.close();
    }
  }, 120_000);
});

// Why the lane serves a copy: codegraph 1.6.1 writes its writer lock beside the database, so the index bound
// read-only where codegraph looks for it fails the first query. When a codegraph release reads a read-only index,
// this fails, and the copy can go.
describe("codegraph 1.6.1 on the index itself, bound read-only at the checkout's .codegraph", () => {
  it('fails the first query with a read-only file system', async () => {
    const index = join(codeIndexRoot(stateDir), 'acme', 'zoo');
    const client = await connect(await laneCheckout(), 'acme/zoo', {
      mounts: [`${await realpath(index)}:${WORKSPACE}/.codegraph:ro`],
      command: ['codegraph', 'serve', '--mcp', '--no-watch'],
    });
    try {
      await expect(explore(client, 'computeQuarterlyZebraInvoice')).rejects.toThrow(/EROFS: read-only file system/);
    } finally {
      await client.close();
    }
  }, 120_000);
});
