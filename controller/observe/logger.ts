// Structured JSON logs for machines, readable lines on a terminal. The JIT config and tokens are redacted by path,
// so a careless `log.info({ spec })` cannot leak them.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

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

export function createLogger(
  opts: { level?: string; pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && !opts.destination);
  const options = {
    level: opts.level ?? process.env.FACTORY_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: undefined,
  };
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return opts.destination ? pino(options, opts.destination as never) : pino(options);
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
