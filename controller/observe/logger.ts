// Structured JSON logs for machines, one readable line per event for people at a terminal. The JIT config and tokens
// are redacted by path, so a careless `log.info({ spec })` cannot leak them.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const REDACT = [
  '*.encodedJitConfig',
  'encodedJitConfig',
  '*.Env',
  'Env',
  '*.token',
  'token',
  '*.secret',
  'secret',
  'req.headers.authorization',
];

/** The level named, or why it is not one: for `--log-level` and FACTORY_LOG_LEVEL. */
export function parseLogLevel(value: string, where: string): LogLevel {
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`${where}: ${JSON.stringify(value)} is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
}

/** Colour only for a terminal, and never when NO_COLOR is set to anything but the empty string (no-color.org). */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '';
}

export interface LoggerOptions {
  /** Default: FACTORY_LOG_LEVEL, else info. */
  level?: string;
  /** One human line per event instead of JSON. Default: when the destination is a terminal. */
  pretty?: boolean;
  /** Default: NO_COLOR unset and the destination a terminal. */
  color?: boolean;
  /** Default: stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const out = (opts.destination ?? process.stdout) as NodeJS.WritableStream & { isTTY?: boolean };
  const pretty = opts.pretty ?? out.isTTY === true;
  const level = parseLogLevel(
    opts.level ?? process.env.FACTORY_LOG_LEVEL ?? 'info',
    opts.level !== undefined ? 'log level' : 'FACTORY_LOG_LEVEL',
  );
  const options = {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: undefined,
    // "level":"warn", not "level":40: a reader of the JSON should not need pino's table.
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (!pretty) return opts.destination ? pino(options, opts.destination as never) : pino(options);
  const color = opts.color ?? wantsColor(out);
  return pino(options, { write: (line: string) => void out.write(humanLine(line, color)) } as never);
}

const LEVEL_COLOR: Record<string, string> = {
  trace: '90',
  debug: '90',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '35',
};

/** One JSON log line as one terminal line: `12:00:01 INFO  message  key=value ...`. */
export function humanLine(json: string, color: boolean): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, msg, ...fields } = event;
  const label = String(level ?? 'info');
  const clock = typeof time === 'number' ? new Date(time).toTimeString().slice(0, 8) : '';
  const paint = (code: string | undefined, text: string) => (color && code ? `\x1b[${code}m${text}\x1b[0m` : text);
  const rest = Object.entries(fields)
    .map(([key, value]) => `${paint('2', `${key}=`)}${fieldText(value)}`)
    .join(' ');
  const head = `${paint('2', clock)} ${paint(LEVEL_COLOR[label], label.toUpperCase().padEnd(5))} ${String(msg ?? '').replace(/\r?\n/g, ' | ')}`;
  return `${rest ? `${head}  ${rest}` : head}\n`;
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value && 'stack' in value)
    return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value) ?? String(value);
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
