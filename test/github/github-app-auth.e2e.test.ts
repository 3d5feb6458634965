// GitHub App auth: the controller signs a JWT with the App's key, finds the repo's installation, and registers the
// job's runner with an installation token, against a stand-in that verifies each of those as GitHub does.
import { afterEach, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { CI_LABELS, startHarness, uniqueRepo, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let standin: GitHubStandin | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.stop();
  await standin?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  h = standin = dir = undefined;
});

async function appHarness(signingKey: string, appId = 31337) {
  const { publicKey } = keys;
  standin = new GitHubStandin({ jobSeconds: 1, app: { id: 31337, publicKeyPem: publicKey } });
  await standin.start();
  dir = mkdtempSync(join(tmpdir(), 'factory-app-'));
  const keyFile = join(dir, 'app.pem');
  writeFileSync(keyFile, signingKey, { mode: 0o600 });
  return startHarness({
    standin,
    repo: uniqueRepo('app'),
    config: {
      github: {
        apiUrl: standin.url,
        auth: { appId, privateKeyPath: keyFile },
        webhook: { host: '127.0.0.1', port: 0, secret: { env: 'WEBHOOK_SECRET' } },
      },
    },
  });
}

const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

it('registers runners with an installation token obtained with the App key', async () => {
  h = await appHarness(keys.privateKey);
  const jobId = await h.github.queueJob(h.repo, CI_LABELS);

  await waitFor(
    'the job under App auth',
    () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
  );
  const routes = h.github.exchanges.map((x) => `${x.method} ${x.path.replace(h!.repo, 'REPO')} ${x.status}`);
  expect(routes).toEqual(
    expect.arrayContaining([
      'GET /repos/REPO/installation 200',
      'POST /app/installations/4242/access_tokens 201',
      'POST /repos/REPO/actions/runners/generate-jitconfig 201',
    ]),
  );
  expect(routes.filter((r) => r.endsWith(' 401'))).toEqual([]);
});

it("a key that is not the App's gets 401 and starts nothing", async () => {
  const other = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  h = await appHarness(other.privateKey);
  await h.github.queueJob(h.repo, CI_LABELS);

  await waitFor('the failure', () => h!.stages.some((s) => s.stage === 'failed'));
  expect(h.service.controller.snapshot().lastError).toMatch(
    /GitHub 401 on GET installation for factory-test\/app-[0-9a-f]+: Requires authentication .*is the App installed/,
  );
  expect(await h.containers()).toEqual([]);
});
