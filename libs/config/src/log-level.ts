import type { LogLevel } from '@nestjs/common';
import type { LogLevelName } from './base.env';

// Nest has no `info`: its `log` is the informational level.
const NEST_ORDER: readonly (readonly [LogLevelName, LogLevel])[] = [
  ['fatal', 'fatal'],
  ['error', 'error'],
  ['warn', 'warn'],
  ['info', 'log'],
  ['debug', 'debug'],
  ['verbose', 'verbose'],
];

/** The Nest logger levels printed at LOG_LEVEL `level`: it and everything more severe. */
export function nestLogLevels(level: LogLevelName): LogLevel[] {
  const index = NEST_ORDER.findIndex(([name]) => name === level);
  return NEST_ORDER.slice(0, index + 1).map(([, nest]) => nest);
}
