import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]". Credentials arrive in these headers; template contexts and
 * secret values are never passed to the logger at all, this is the second line of defence.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  'req.headers["x-path-params"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.secret',
  '*.value',
  '*.token',
  '*.client_secret',
  '*.private_key',
];

const REQUEST_ID = Symbol('gatehouse.request_id');
const CARRIES_REQUEST_ID = Symbol('gatehouse.carries_request_id');

/**
 * Where log lines go when the caller names no destination: stdout as JSON (one object per line,
 * for collectors), or — when stdout is a terminal, i.e. a person is watching — pino-pretty's
 * human-readable lines (time, level, message, then the fields). Synchronous, like the JSON path,
 * so the last lines before an exit are not lost.
 */
function defaultDestination(): NodeJS.WritableStream | undefined {
  if (process.stdout.isTTY !== true) return undefined;
  // Loaded only here: a production process (stdout not a terminal) never pays for it.
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pinoPretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true });
}

export function createLogger(level: string, destination: NodeJS.WritableStream | undefined = defaultDestination()): Logger {
  const logger = pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The request id of a request logger (see requestLogger) is added when a line is written.
      mixin: (_obj: object, _level: number, instance: Logger) => {
        const id = (instance as unknown as Record<symbol, string | undefined>)[REQUEST_ID];
        return id === undefined ? {} : { request_id: id };
      },
    },
    destination as pino.DestinationStream | undefined,
  );
  (logger as unknown as Record<symbol, boolean>)[CARRIES_REQUEST_ID] = true;
  return logger;
}

/**
 * The per-request child logger (fastify's `childLoggerFactory`): every line it writes carries
 * `request_id`. A plain `child({request_id})` would serialise the binding through the redaction
 * paths on every request, logged or not — a visible share of a cache hit; here the id is only
 * written when a line is. Loggers not made by createLogger get the plain child.
 */
export function requestLogger(logger: Logger, bindings: Record<string, unknown>, options: pino.ChildLoggerOptions = {}): Logger {
  const id = bindings.request_id;
  if ((logger as unknown as Record<symbol, boolean>)[CARRIES_REQUEST_ID] !== true || typeof id !== 'string' || Object.keys(bindings).length !== 1) {
    return logger.child(bindings, options);
  }
  const child = logger.child({}, options);
  (child as unknown as Record<symbol, string>)[REQUEST_ID] = id;
  return child;
}
