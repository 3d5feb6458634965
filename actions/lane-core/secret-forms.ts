// The forms a secret takes when an agent passes it on without printing it as is: each line of a multi-line value,
// reversed, hex, URL-encoded, JSON-escaped, and base64 (plain and URL-safe) at each of the three byte alignments it
// can have inside a longer encoded text. The runner's masker and the action's scrubber get every form.

const MIN_FORM = 8;

/** The base64 characters that depend only on `value`, when it starts `offset` bytes into an encoded text. */
function base64At(value: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), value])
    .toString('base64')
    .replace(/=+$/, '');
  const end = Math.floor((offset + value.length) / 3) * 4;
  return encoded.slice(offset === 0 ? 0 : offset + 1, end);
}

function formsOfOne(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const b64 = [0, 1, 2].map((offset) => base64At(bytes, offset));
  return [
    value,
    [...value].reverse().join(''),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
    ...b64,
    ...b64.map((s) => s.replace(/\+/g, '-').replace(/\//g, '_')),
  ];
}

export function secretForms(secret: string): string[] {
  const lines = secret
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= MIN_FORM);
  const values = lines.length > 1 ? [secret, ...lines] : [secret];
  return [...new Set(values.flatMap(formsOfOne))].filter((f) => f.length >= MIN_FORM);
}
