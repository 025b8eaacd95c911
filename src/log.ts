import pino, { type Logger } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, at any depth of a logged object. */
const SECRET_KEY = /^(password|passphrase|privateKey|secret|secretKey|token|adminToken|authorization|cookie|set-cookie|apiKey|encryptedSecret|encryptedPassphrase)$/i;
const SECRET_NAMES = ['password', 'passphrase', 'privateKey', 'secret', 'secretKey', 'token', 'adminToken', 'authorization', 'cookie', 'encryptedSecret', 'encryptedPassphrase'];

/** Paths whose values never reach a log line (pino's fast path; deeper levels are caught by key name). */
export const REDACTED_PATHS = [
  ...SECRET_NAMES,
  ...SECRET_NAMES.map((k) => `*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'connectionParams.authorization',
  'connectionParams.Authorization',
];

const CENSOR = '[redacted]';

/**
 * Secrets that turn up inside text (an error message quoting its input, a URL with a
 * password): API tokens, bearer credentials, PEM private keys, URL passwords.
 */
const SECRET_TEXT: [RegExp, string][] = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[redacted private key]'],
  [/\bipt_[A-Za-z0-9_-]{8,}/g, 'ipt_[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^@\s/]+@/gi, '$1[redacted]@'],
];

export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_TEXT) out = out.replace(pattern, replacement);
  return out;
}

/** Copies plain objects and arrays (bounded depth), censoring secret keys and scrubbing strings. */
function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return scrubError(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v != null ? CENSOR : scrub(v, depth + 1);
  return out;
}

/**
 * `err`/`error` fields: Error objects get pino's serializer (type, message, stack, cause); anything
 * else (callers often log `err: e.message`) is kept as it is, scrubbed: spreading a string would
 * log it one character per key.
 */
function scrubError(err: unknown): unknown {
  if (!(err instanceof Error)) return scrub(err, 1);
  const serialized = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  return scrub({ ...serialized }, 1);
}

/** JSON lines by default; human-readable when stdout is a terminal. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'infrapulse' },
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    serializers: { err: scrubError, error: scrubError },
    formatters: { log: (object) => scrub(object, 0) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>);
      },
    },
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options);
}
