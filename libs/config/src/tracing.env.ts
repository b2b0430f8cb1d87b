import { z } from 'zod';
import { defineEnv, type ConfigOf } from './env-spec';
import { variable } from './variables';

/** The values of OTEL_TRACES_SAMPLER that Leash knows (the SDK's own names). */
export const TRACES_SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const;
export type TracesSamplerName = (typeof TRACES_SAMPLERS)[number];

/**
 * Which traces are recorded, by the standard OpenTelemetry variables. Read by
 * @leash/telemetry at start-up, before anything else loads; every service's
 * spec includes them (BASE_ENV) so they are documented and checked with the rest.
 */
export const TRACING_ENV = defineEnv({
  OTEL_TRACES_SAMPLER: variable(z.enum(TRACES_SAMPLERS).default('parentbased_always_on'), {
    description:
      "Which tasks' traces are recorded. A task's trace id is derived from its id, so every service decides the same for a task: all of it or none. Spans of errors, denials and escalations are kept in any case.",
    expected: TRACES_SAMPLERS.join(', '),
  }),
  OTEL_TRACES_SAMPLER_ARG: variable(
    z
      .string()
      .trim()
      .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'not a number from 0 to 1')
      .transform(Number)
      .optional(),
    {
      description:
        'The share of traces recorded with parentbased_traceidratio or traceidratio (1 when unset); ignored by the other samplers.',
      expected: 'a number from 0 to 1, e.g. 0.1',
      defaultText: '1',
    },
  ),
});

export type TracingConfig = ConfigOf<typeof TRACING_ENV>;
