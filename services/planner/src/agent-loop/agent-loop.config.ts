import { z } from 'zod';
import {
  MODEL_PRICES_ENV,
  integer,
  url,
  variable,
  type DeepReadonly,
  type Requirement,
} from '@leash/config';

/*
 * The agent loop's variables, to merge into PLANNER_ENV:
 * `extendEnv(BASE_ENV, AGENT_LOOP_VARIABLES, AGENT_LOOP_REQUIREMENTS)`.
 * LEASH_MODEL_PRICES is the declaration the budget shares (libs/config).
 */
export const AGENT_LOOP_VARIABLES = {
  ...MODEL_PRICES_ENV,
  LEASH_MODEL: variable(z.enum(['scripted', 'replay', 'openai']).optional(), {
    description:
      'The model engine: scripted (deterministic scenarios), replay (a recorded run) or openai (any OpenAI-compatible server).',
    expected: 'scripted, replay or openai',
    defaultText: 'openai when OPENAI_API_KEY or OPENAI_BASE_URL is set, else scripted',
  }),
  OPENAI_BASE_URL: variable(url(['http', 'https']).optional(), {
    description:
      'Base URL of an OpenAI-compatible API, e.g. http://localhost:11434/v1; the OpenAI API when unset.',
    expected: 'an http:// or https:// URL',
  }),
  OPENAI_API_KEY: variable(z.string().trim().min(1).optional(), {
    description: 'API key of the OpenAI-compatible server, when it needs one.',
    expected: 'a non-empty key',
    secret: true,
  }),
  LEASH_MODEL_NAME: variable(z.string().trim().min(1).max(200).optional(), {
    description:
      "The model every agent calls with LEASH_MODEL=openai, instead of its profile's; it must be priced in LEASH_MODEL_PRICES.",
    expected: 'a model name, e.g. gpt-4o-mini',
  }),
  LEASH_REPLAY_FILE: variable(z.string().trim().min(1).optional(), {
    description:
      'The recorded run LEASH_MODEL=replay answers from (a file LEASH_RECORD_FILE wrote).',
    expected: 'a file path',
  }),
  LEASH_RECORD_FILE: variable(z.string().trim().min(1).optional(), {
    description: 'Record every model answer to this file, for LEASH_MODEL=replay later.',
    expected: 'a file path',
  }),
  LEASH_MODEL_TIMEOUT_MS: variable(integer(100, 600_000).default(60_000), {
    description:
      'How long one attempt of a model call may take before it is abandoned and retried.',
    expected: 'a whole number of milliseconds from 100 to 600000',
  }),
  LEASH_MODEL_MAX_RETRIES: variable(integer(0, 10).default(2), {
    description:
      'Retries of a model call on 429, 5xx, timeouts and connection errors, with backoff.',
    expected: 'a whole number from 0 to 10',
  }),
  LEASH_MODEL_MAX_OUTPUT_TOKENS: variable(integer(16, 200_000).default(1_024), {
    description: 'Output tokens each model call reserves in the budget and may use.',
    expected: 'a whole number from 16 to 200000',
  }),
  LEASH_PLANNER_SWEEP_INTERVAL_MS: variable(integer(50, 3_600_000).default(1_000), {
    description: 'How often open tasks past their wall-clock deadline are looked for and ended.',
    expected: 'a whole number of milliseconds from 50 to 3600000',
  }),
};

export const AGENT_LOOP_REQUIREMENTS: readonly Requirement[] = [
  { variable: 'LEASH_REPLAY_FILE', when: { variable: 'LEASH_MODEL', equals: 'replay' } },
];

export type AgentLoopConfig = DeepReadonly<{
  [K in keyof typeof AGENT_LOOP_VARIABLES]: z.output<(typeof AGENT_LOOP_VARIABLES)[K]>;
}>;

export type ModelEngine = 'scripted' | 'replay' | 'openai';

/** LEASH_MODEL, or its default: openai as soon as an OpenAI endpoint or key is configured. */
export function modelEngineOf(
  config: Pick<AgentLoopConfig, 'LEASH_MODEL' | 'OPENAI_API_KEY' | 'OPENAI_BASE_URL'>,
): ModelEngine {
  if (config.LEASH_MODEL) return config.LEASH_MODEL;
  return config.OPENAI_API_KEY || config.OPENAI_BASE_URL ? 'openai' : 'scripted';
}
