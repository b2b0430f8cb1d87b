import type { LoggerService } from '@nestjs/common';
import type * as NestPino from 'nestjs-pino';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';
import type * as Pino from 'pino';
import { activeTraceIds } from './tracing';

/*
 * Structured JSON logs: one object a line, with `trace_id` and `span_id` of
 * the active span, so a log line leads to its trace and back. Nest's log
 * calls go through nestjs-pino onto the same pino root.
 */

/** Nest's level names onto pino's; `verbose` is pino's `trace`. */
const LEVELS: Record<string, LevelWithSilent> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

export interface LogOptions {
  /** The process's name in every line: a service, or `leash` for the all-in-one process. */
  readonly service: string;
  /** A Nest level name (LOG_LEVEL); default info. */
  readonly level?: string;
  /** Default: stdout. */
  readonly destination?: DestinationStream;
}

let root: Logger | undefined;

/** The process's pino logger; the first call's options win, as one process writes one stream. */
export function leashLogger(options?: LogOptions): Logger {
  // Loaded on first use: a process that logs nothing (the CLI) does not pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof Pino.pino;
  root ??= pino(
    {
      level: LEVELS[options?.level ?? 'info'] ?? 'info',
      base: { service: options?.service ?? 'leash', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Read per line: the ids of the span active when the line is written.
      mixin: () => activeTraceIds() ?? {},
    },
    options?.destination,
  );
  return root;
}

/** A Nest LoggerService over the process's pino logger (nestjs-pino). */
export function nestLogger(options?: LogOptions): LoggerService {
  const params = { pinoHttp: { logger: leashLogger(options) } };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Logger: NestPinoLogger, PinoLogger } = require('nestjs-pino') as typeof NestPino;
  return new NestPinoLogger(new PinoLogger(params), params);
}
