// A CA made for one test and a server certificate it signs for 127.0.0.1 and localhost, with openssl, in a temp
// folder: what a private CA (a TLS-inspecting proxy, GitHub Enterprise Server, the webhook port's own) looks like.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayCa {
  dir: string;
  /** The CA's certificate (PEM file): what NODE_EXTRA_CA_CERTS points at. */
  caFile: string;
  ca: string;
  /** A server certificate and key the CA signed, for 127.0.0.1 and localhost. */
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  /** Signs another server certificate (a renewal) into these files. */
  issue(certFile: string, keyFile: string, subject?: string): void;
  remove(): void;
}

export function throwawayCa(): ThrowawayCa {
  const dir = mkdtempSync(join(tmpdir(), 'factory-ca-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const caFile = join(dir, 'ca.pem');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    '/CN=factory throwaway test CA',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const issue = (certFile: string, keyFile: string, subject = '/CN=127.0.0.1') => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', 'server.csr', '-subj', subject);
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      caFile,
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      certFile,
      '-days',
      '2',
      '-extfile',
      'san.ext',
    );
  };
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  issue(certFile, keyFile);
  return {
    dir,
    caFile,
    ca: readFileSync(caFile, 'utf8'),
    certFile,
    keyFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    issue,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
