// The Docker engine a one-shot command talks to: the config's docker.socketPath, as the controller's. With no config
// file at the default place (images are built before the first config exists), Docker's own default.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import Docker from 'dockerode';
import { describeProblems, loadConfig } from '../config/config.js';

export type DockerClient = { ok: true; docker: Docker } | { ok: false; problem: string };

export async function dockerClient(cmd: Command, file: string): Promise<DockerClient> {
  const named = cmd.getOptionValueSource('config') !== 'default';
  if (!named && !existsSync(file)) return { ok: true, docker: new Docker() };
  const loaded = await loadConfig(file);
  if (!loaded.ok) return { ok: false, problem: describeProblems(file, loaded) };
  return { ok: true, docker: new Docker({ socketPath: loaded.config.docker.socketPath }) };
}
