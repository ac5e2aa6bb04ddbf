import pino from 'pino';

export type Logger = pino.Logger;

/** Credentials never reach a log line, wherever an object carrying them is logged. */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  '*.authorization',
  '*.headers.authorization',
  'AUTH_SECRET',
  '*.AUTH_SECRET',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'orders', destination?: pino.DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
