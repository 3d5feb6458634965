// The two builds behind factory/base: the upstream stage (what neither the distribution nor npm has) and the base on
// top of it. `release` fetches the upstream parts at pinned versions and checksums; `local` is the stand-in for a
// machine that reaches only npm and Debian: the host's own node, npm's GitHub MCP server, the uv and runner stand-ins.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { inputsHash, type ImageBuild } from './image-builder.js';
import { parsePins } from './npm-stage.js';

export type UpstreamMode = 'release' | 'local';

export type BasePlanOptions = {
  imagesDir: string;
  upstream: UpstreamMode;
  /** The distribution image both builds start FROM (ubuntu:24.04 by default; a debootstrapped Debian here). */
  distro?: string;
  /** Tags; a function of the inputs hash when the caller wants one tag per set of inputs. */
  upstreamTag: string | ((inputs: string) => string);
  baseTag: string | ((inputs: string) => string);
  /** The node whose binary and npm the local stage carries (default: the one running this). */
  nodeBinary?: string;
  network?: string;
};

// The local stage's GitHub MCP server: npm's reference server, behind the release binary's `stdio` command.
const GITHUB_MCP_NPM = '@modelcontextprotocol/server-github@2025.4.8';

const tagFor = (tag: string | ((inputs: string) => string), inputs: string) =>
  typeof tag === 'string' ? tag : tag(inputs);

/** The npm directory that belongs to a node binary: <prefix>/lib/node_modules/npm, as Debian and nodejs.org lay it out. */
export function npmDirOf(nodeBinary: string): string {
  return resolve(dirname(nodeBinary), '..', 'lib', 'node_modules', 'npm');
}

function upstreamBuild(o: BasePlanOptions): ImageBuild {
  const distro: Record<string, string> = o.distro === undefined ? {} : { BASE_IMAGE: o.distro };
  const network = o.network === undefined ? {} : { network: o.network };
  if (o.upstream === 'release') {
    const dir = join(o.imagesDir, 'factory-upstream');
    return { tag: '', contextDir: dir, dockerfile: join(dir, 'Dockerfile'), buildArgs: distro, ...network };
  }
  const dir = join(o.imagesDir, 'factory-upstream-local');
  const node = o.nodeBinary ?? process.execPath;
  const npmDir = npmDirOf(node);
  if (!existsSync(npmDir))
    throw new Error(`the local upstream stage needs npm beside ${node}: ${npmDir} does not exist`);
  return {
    tag: '',
    contextDir: dir,
    dockerfile: join(dir, 'Dockerfile'),
    buildArgs: distro,
    sources: [
      { from: node, to: 'node/bin/node' },
      { from: npmDir, to: 'node/lib/node_modules/npm' },
    ],
    npm: [{ to: 'lib/github-mcp', packages: [GITHUB_MCP_NPM], global: false }],
    network: 'none',
  };
}

/** Upstream first, then the base FROM it; each tag is set once its inputs hash is known. */
export async function planBaseBuilds(o: BasePlanOptions): Promise<ImageBuild[]> {
  const upstream = upstreamBuild(o);
  const upstreamInputs = await inputsHash(upstream);
  upstream.tag = tagFor(o.upstreamTag, upstreamInputs);
  const dir = join(o.imagesDir, 'factory-base');
  const pins = parsePins(await readFile(join(dir, 'npm-globals.txt'), 'utf8'), join(dir, 'npm-globals.txt'));
  const base: ImageBuild = {
    tag: '',
    contextDir: dir,
    dockerfile: join(dir, 'Dockerfile'),
    buildArgs:
      o.distro === undefined
        ? { UPSTREAM_IMAGE: upstream.tag }
        : { BASE_IMAGE: o.distro, UPSTREAM_IMAGE: upstream.tag },
    npm: [{ to: 'npm-global', packages: pins, global: true }],
    hashExtra: [`upstream ${upstreamInputs}`],
    ...(o.network === undefined ? {} : { network: o.network }),
  };
  base.tag = tagFor(o.baseTag, await inputsHash(base));
  return [upstream, base];
}
