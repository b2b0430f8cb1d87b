import { defineEnv, integer, url, variable, type ConfigOf } from '@leash/config';

/** Where a process serves metrics and health, and where it sends traces. */
export const OBSERVABILITY_ENV = defineEnv({
  LEASH_HTTP_PORT: variable(integer(0, 65_535).optional(), {
    description:
      'Port of the HTTP endpoint serving /metrics, /health/live and /health/ready; 0 or unset picks a free port.',
    expected: 'a whole number from 0 to 65535',
  }),
  LEASH_METRICS_PORT: variable(integer(0, 65_535).optional(), {
    description: 'Used for the HTTP endpoint when LEASH_HTTP_PORT is unset.',
    expected: 'a whole number from 0 to 65535',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(url(['http', 'https']).optional(), {
    description:
      'OTLP/HTTP collector base URL (spans go to <url>/v1/traces as JSON); unset: no span is exported.',
    expected: 'an http:// or https:// URL',
  }),
});

export type ObservabilityConfig = ConfigOf<typeof OBSERVABILITY_ENV>;

/** The port to serve on: LEASH_HTTP_PORT, else LEASH_METRICS_PORT, else 0 (any free port). */
export function httpPortOf(config: ObservabilityConfig): number {
  return config.LEASH_HTTP_PORT ?? config.LEASH_METRICS_PORT ?? 0;
}
