// Token shapes that must not reach the log or the status output, even when a job printed one to the runner's stdout.
const TOKEN_SHAPES = [
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}/g,
  /(\bBearer\s+)[A-Za-z0-9._~+/-]{12,}=*/gi,
  /(ACTIONS_RUNNER_INPUT_JITCONFIG=)\S+/g,
];

export function redactLine(line: string): string {
  return TOKEN_SHAPES.reduce(
    (out, re) => out.replace(re, (_m, keep?: string) => `${typeof keep === 'string' ? keep : ''}[redacted]`),
    line,
  );
}
