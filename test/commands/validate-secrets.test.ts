// `factory validate --secrets` reads what the controller reads at start, from the same environment and files: an
// unset variable or an unreadable file fails it (systemd's ExecStartPre), each named with its config path.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../controller/commands/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-validate-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = ['FACTORY_T_WEBHOOK_SECRET', 'FACTORY_T_TOKEN'];
afterEach(() => NAMES.forEach((n) => delete process.env[n]));

function configFile(github: Record<string, unknown>, top: Record<string, unknown> = {}): string {
  const file = join(dir, `factory-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(
    file,
    stringify({
      github,
      ...top,
      // No engine here: the network check is skipped, the file and the secrets are what is judged.
      docker: { socketPath: join(dir, 'no-docker.sock') },
      profiles: { ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci:1' } },
      repos: [{ repo: 'o/r', profiles: ['ci'] }],
    }),
  );
  return file;
}

async function validate(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['validate', ...argv], { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('factory validate --secrets', () => {
  const tokenConfig = () =>
    configFile({
      auth: { tokenEnv: 'FACTORY_T_TOKEN' },
      webhook: { secret: { env: 'FACTORY_T_WEBHOOK_SECRET' } },
    });

  it('fails on unset secret variables, naming each with its config path; without --secrets the file alone passes', async () => {
    const file = tokenConfig();
    const r = await validate('--secrets', '--config', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('github.webhook.secret.env: environment variable FACTORY_T_WEBHOOK_SECRET is not set');
    expect(r.stderr).toContain('github.auth.tokenEnv: environment variable FACTORY_T_TOKEN is not set');
    expect((await validate('--config', file)).code).toBe(0);
  });

  it('reads no webhook secret with intake scaleset, which listens for no webhook', async () => {
    process.env.FACTORY_T_TOKEN = 'ghp-value-456';
    const file = configFile(
      { auth: { tokenEnv: 'FACTORY_T_TOKEN' }, webhook: { secret: { env: 'FACTORY_T_WEBHOOK_SECRET' } } },
      { intake: 'scaleset' },
    );
    const r = await validate('--secrets', '--config', file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('passes once they are set, and never prints their values', async () => {
    process.env.FACTORY_T_WEBHOOK_SECRET = 'whsec-value-123';
    process.env.FACTORY_T_TOKEN = 'ghp-value-456';
    const r = await validate('--secrets', '--config', tokenConfig());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/whsec-value-123|ghp-value-456/);
  });

  it('fails on a secret file or App key it cannot read', async () => {
    const file = configFile({
      auth: { appId: 1, privateKeyPath: join(dir, 'missing-key.pem') },
      webhook: { secret: { file: join(dir, 'no-such-secret') } },
    });
    const r = await validate('--secrets', '--json', '--config', file);
    expect(r.code).toBe(1);
    const problems = (JSON.parse(r.stdout) as { problems: { message: string }[] }).problems.map((p) => p.message);
    expect(problems).toEqual([
      `github.webhook.secret.file: cannot read ${join(dir, 'no-such-secret')}`,
      `github.auth.privateKeyPath: cannot read ${join(dir, 'missing-key.pem')} (ENOENT)`,
    ]);
  });
});
