// Removes credentials from anything the action shows: the transcript, the summary, the comment, the outputs.
// Two nets: the exact values found in the lane's auth files, and shapes no legitimate output should contain.

const SECRET_KEY = /token|secret|password|api_?key|credential/i;
const MIN_SECRET = 8;
const PATTERNS: RegExp[] = [
  /\bsk-ant-[A-Za-z0-9_-]{8,}/g,
  /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g,
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /(\bBearer\s+)[A-Za-z0-9._~+/-]{12,}=*/gi,
];
export const REDACTED = '***';

/** String values under credential-looking keys, anywhere in a JSON document (unparseable text yields none). */
export function credentialValues(jsonText: string): string[] {
  let root: unknown;
  try {
    root = JSON.parse(jsonText);
  } catch {
    return [];
  }
  const found: string[] = [];
  const walk = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      if (SECRET_KEY.test(key) && node.length >= MIN_SECRET) found.push(node);
    } else if (Array.isArray(node)) node.forEach((n) => walk(n, key));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  walk(root, '');
  return found;
}

export class Scrubber {
  private readonly values = new Set<string>();

  add(...secrets: string[]): void {
    for (const s of secrets) if (s.length >= MIN_SECRET) this.values.add(s);
  }

  get secrets(): string[] {
    return [...this.values];
  }

  scrub(text: string): string {
    let out = text;
    // Longest first, so a token that contains another is not left half-masked.
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(v).join(REDACTED);
    for (const p of PATTERNS)
      out = out.replace(p, (_m, bearer?: string) => (typeof bearer === 'string' ? bearer : '') + REDACTED);
    return out;
  }
}
