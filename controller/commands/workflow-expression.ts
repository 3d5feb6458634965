// The small part of GitHub's expression language a reusable workflow's `runs-on` uses: string, number and boolean
// literals, `inputs.NAME`, `==`, `!=`, `!`, `&&`, `||`, parentheses and `fromJSON(…)`. Anything else (another context
// such as `github.*` or `matrix.*`, another function) is UNKNOWN: only the run can say, and doctor then says nothing.
export const UNKNOWN = Symbol('unknown');
export type Value = string | number | boolean | null | unknown[] | typeof UNKNOWN;

const TOKEN = /\s*(?:('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)|(==|!=|&&|\|\||!|\(|\)|,)|([A-Za-z_][A-Za-z0-9_.-]*))/y;

function tokenize(text: string): string[] | undefined {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m) return undefined;
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  }
  return out;
}

const truthy = (v: Value) => v !== '' && v !== 0 && v !== false && v !== null;
// GitHub compares strings ignoring case.
const equal = (a: Value, b: Value) =>
  typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;

/**
 * Evaluates `text` (the inside of `${{ }}`) with the given inputs; UNKNOWN when any part needs more than that.
 * `inputs` undefined: the inputs context is not known here (a workflow_dispatch caller's), so it is UNKNOWN too.
 */
export function evaluate(text: string, inputs: Record<string, Value> | undefined): Value {
  const tokens = tokenize(text);
  if (!tokens) return UNKNOWN;
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const binary = (sub: () => Value, op: '||' | '&&'): Value => {
    let left = sub();
    while (peek() === op) {
      next();
      const right = sub();
      if (left === UNKNOWN) continue;
      left = op === '||' ? (truthy(left) ? left : right) : truthy(left) ? right : left;
    }
    return left;
  };
  const or = (): Value => binary(and, '||');
  const and = (): Value => binary(comparison, '&&');
  const comparison = (): Value => {
    let left = unary();
    while (peek() === '==' || peek() === '!=') {
      const op = next();
      const right = unary();
      left = left === UNKNOWN || right === UNKNOWN ? UNKNOWN : equal(left, right) === (op === '==');
    }
    return left;
  };
  const unary = (): Value => {
    if (peek() !== '!') return primary();
    next();
    const v = unary();
    return v === UNKNOWN ? UNKNOWN : !truthy(v);
  };
  const primary = (): Value => {
    const t = next();
    if (t === undefined) return UNKNOWN;
    if (t === '(') {
      const v = or();
      return next() === ')' ? v : UNKNOWN;
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (/^-?\d/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (t.toLowerCase() === 'fromjson' && peek() === '(') {
      next();
      const arg = or();
      if (next() !== ')' || typeof arg !== 'string') return UNKNOWN;
      try {
        return JSON.parse(arg) as Value;
      } catch {
        return UNKNOWN;
      }
    }
    const input = /^inputs\.([A-Za-z0-9_-]+)$/.exec(t);
    if (input && peek() !== '(') return !inputs ? UNKNOWN : Object.hasOwn(inputs, input[1]!) ? inputs[input[1]!]! : '';
    return UNKNOWN;
  };
  const value = or();
  return i === tokens.length ? value : UNKNOWN;
}

/** A workflow value: plain text, or one whole `${{ … }}` evaluated; text with an expression inside it is UNKNOWN. */
export function workflowValue(raw: unknown, inputs: Record<string, Value> | undefined): Value {
  if (typeof raw !== 'string') return raw === undefined ? null : (raw as Value);
  const whole = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(raw);
  if (whole && !whole[1]!.includes('}}')) return evaluate(whole[1]!, inputs);
  return raw.includes('${{') ? UNKNOWN : raw;
}
