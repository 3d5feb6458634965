// Proves an image carries no credential: not in its env or labels, not in a build arg the history recorded, not in
// any file of any layer (a file removed by a later layer is still in the earlier one, and `docker save` hands it out).

export type ImageFacts = {
  env: string[];
  labels: Record<string, string>;
  /** `CreatedBy` of each history entry, oldest first. */
  history: string[];
  /** Files of every layer that are worth reading: see `shouldRead`. */
  files: { layer: number; path: string; text: string }[];
};

const CREDENTIAL_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|API_?KEY|PRIVATE_KEY|ACCESS_KEY|AUTH)($|_)/i;

const TOKEN_PATTERNS: [string, RegExp][] = [
  ['a GitHub token', /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/],
  ['an Anthropic key', /\bsk-ant-[A-Za-z0-9_-]{20,}/],
  ['an OpenAI key', /\bsk-(proj-)?[A-Za-z0-9_-]{32,}/],
  ['an npm token', /\bnpm_[A-Za-z0-9]{36}\b|_authToken=\S+/],
  ['an AWS access key', /\bAKIA[0-9A-Z]{16}\b/],
  ['a Slack token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ['a private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['an OAuth token', /"(access_token|refresh_token|accessToken|refreshToken|id_token)"\s*:\s*"[^"]{8,}"/],
  ['registry credentials', /"auth"\s*:\s*"[A-Za-z0-9+/=]{8,}"/],
];

// Files whose presence alone is a leak: subscription auth, CLI logins, keys.
const CREDENTIAL_FILES: [RegExp, string][] = [
  [/(^|\/)\.codex\/auth\.json$/, 'codex auth'],
  [/(^|\/)\.claude\/\.credentials\.json$/, 'claude auth'],
  [/(^|\/)\.config\/gh\/hosts\.yml$/, 'gh login'],
  [/(^|\/)\.git-credentials$/, 'git credentials'],
  [/(^|\/)\.netrc$/, 'netrc credentials'],
  [/(^|\/)\.pypirc$/, 'PyPI credentials'],
  [/(^|\/)\.ssh\/id_(rsa|dsa|ecdsa|ed25519)$/, 'an SSH private key'],
];

// Config files that hold registry and service tokens, read wherever a toolchain script left them (`npm config set
// --location project` writes .npmrc into the project folder, which may be anywhere).
const TOKEN_FILES = /(^|\/)(\.npmrc|npmrc|\.yarnrc\.yml|\.env|\.docker\/config\.json|pip\.conf|\.pip\/pip\.conf)$/;

/** Where people and tools write config: homes, /etc, /opt, /tmp. Dependency trees and large files are skipped. */
export function shouldRead(path: string, size: number): boolean {
  if (CREDENTIAL_FILES.some(([re]) => re.test(path))) return true;
  if (TOKEN_FILES.test(path) && size <= 256 * 1024 && !/(^|\/)node_modules\//.test(path)) return true;
  if (size > 256 * 1024 || /(^|\/)(node_modules|\.cache|__pycache__)\//.test(path)) return false;
  return /^(home|root|etc|opt|tmp|srv|var\/tmp|usr\/local\/etc)\//.test(path);
}

/** The kind of token `text` holds, if any. */
export function tokenKind(text: string): string | undefined {
  return TOKEN_PATTERNS.find(([, re]) => re.test(text))?.[0];
}

/** Build args the classic builder and BuildKit record in front of a RUN: `|2 A=1 B=2 /bin/sh -c ...`. */
function recordedBuildArgs(createdBy: string): { name: string; value: string }[] {
  const match = /^(?:RUN )?\|(\d+) (.*)$/s.exec(createdBy);
  if (!match) return [];
  return match[2]!
    .split(' ')
    .slice(0, Number(match[1]))
    .map((pair) => ({ name: pair.slice(0, pair.indexOf('=')), value: pair.slice(pair.indexOf('=') + 1) }));
}

const declaredArg = (createdBy: string) => /(?:#\(nop\)\s+|^)ARG (\w+)/.exec(createdBy)?.[1];

/** Every credential the image gives away, one line each; values are never repeated in the findings. */
export function auditImage(facts: ImageFacts): string[] {
  const findings: string[] = [];
  for (const entry of facts.env) {
    const name = entry.slice(0, entry.indexOf('='));
    const value = entry.slice(entry.indexOf('=') + 1);
    if (CREDENTIAL_NAME.test(name) && value !== '')
      findings.push(`env ${name}: a credential-named variable has a value baked into the image`);
    else if (tokenKind(value)) findings.push(`env ${name}: holds what looks like ${tokenKind(value)}`);
  }
  for (const [name, value] of Object.entries(facts.labels)) {
    const kind = tokenKind(value);
    if (kind) findings.push(`label ${name}: holds what looks like ${kind}`);
  }
  facts.history.forEach((createdBy, i) => {
    const step = `history[${i}]`;
    const arg = declaredArg(createdBy);
    if (arg && CREDENTIAL_NAME.test(arg))
      findings.push(`${step}: ARG ${arg} declares a credential build arg; its value would be recorded in the history`);
    for (const { name, value } of recordedBuildArgs(createdBy)) {
      if (CREDENTIAL_NAME.test(name) && value !== '')
        findings.push(`${step}: build arg ${name} is recorded with its value`);
    }
    const kind = tokenKind(createdBy);
    if (kind) findings.push(`${step}: the build step holds what looks like ${kind}`);
  });
  for (const file of facts.files) {
    const where = `layer ${file.layer}: /${file.path}`;
    const named = CREDENTIAL_FILES.find(([re]) => re.test(file.path));
    if (named) findings.push(`${where}: ${named[1]} is baked into a layer`);
    else if (tokenKind(file.text)) findings.push(`${where}: holds what looks like ${tokenKind(file.text)}`);
  }
  return findings;
}
