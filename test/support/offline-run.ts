// One-off containers of an image as the e2e tests run them: `docker run --rm` without a network, as a given user,
// labelled so the file's afterAll removes whatever a failed test left; and an MCP client over such a container's
// stdio (`docker run -i`), as a lane's agent talks to its stdio servers.
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type Docker from 'dockerode';

export interface OfflineRun {
  image: string;
  user: string;
  /** `-v` values: `SOURCE:TARGET[:ro]`. */
  mounts?: readonly string[];
  env?: Readonly<Record<string, string>>;
  workdir?: string;
}

/** A label of its own for a test file's containers: `factory-test.<what>=<random>`. */
export const runLabel = (what: string) => `factory-test.${what}=${randomBytes(4).toString('hex')}`;

/** `docker` arguments up to the image's command: `run -i --rm`, the label, no network, the user, mounts, env. */
export function offlineRunArgs(label: string, run: OfflineRun): string[] {
  return [
    'run',
    '-i',
    '--rm',
    '--label',
    label,
    '--network',
    'none',
    '--user',
    run.user,
    ...Object.entries(run.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...(run.mounts ?? []).flatMap((m) => ['-v', m]),
    ...(run.workdir ? ['-w', run.workdir] : []),
    run.image,
  ];
}

/** An MCP client connected to `command` in such a container; close it to end the container. */
export async function mcpInContainer(label: string, run: OfflineRun, command: readonly string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: 'docker',
    args: [...offlineRunArgs(label, run), ...command],
    stderr: 'pipe',
  });
  const client = new Client({ name: 'factory-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** Removes the containers a failed test left under `label`. */
export async function removeLabelled(docker: Docker, label: string): Promise<void> {
  const left = await docker.listContainers({ all: true, filters: { label: [label] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
}
