import { agentSetFromConfig, type AgentProfile, type AgentsConfig } from '@leash/agents';
import { ConfigError, priceFor, type PriceTable } from '@leash/config';
import { modelEngineOf, type AgentLoopConfig, type ModelEngine } from '../agent-loop.config';
import type { ModelPort } from './model.port';
import { OpenAiModel } from './openai.model';
import { RecordingModel, ReplayModel } from './replay.model';
import { ScriptedModel, type ScriptSource } from './scripted.model';
import { TracedModel } from './traced.model';

export interface ConfiguredModel {
  readonly engine: ModelEngine;
  readonly model: ModelPort;
  /** The name calls are reserved, made and priced under. */
  readonly modelName: (profile: AgentProfile) => string;
  /** For start-up logs: never a secret. */
  readonly description: string;
}

/** The model adapter the config names, wrapped in a recorder when LEASH_RECORD_FILE is set. */
export function modelFromConfig(config: AgentLoopConfig, scripts: ScriptSource): ConfiguredModel {
  const engine = modelEngineOf(config);
  let model: ModelPort;
  let modelName: (profile: AgentProfile) => string;
  const description = describeModel(config);
  switch (engine) {
    case 'scripted':
      model = new ScriptedModel(scripts);
      // Simulated engines are booked under their own (priced) names, not the profile's model.
      modelName = () => 'scripted';
      break;
    case 'replay': {
      const file = config.LEASH_REPLAY_FILE;
      if (!file) throw new Error('LEASH_MODEL=replay needs LEASH_REPLAY_FILE');
      model = ReplayModel.fromFile(file);
      modelName = () => 'replay';
      break;
    }
    case 'openai':
      if (!config.OPENAI_API_KEY && !config.OPENAI_BASE_URL) {
        throw new Error(
          'LEASH_MODEL=openai needs OPENAI_API_KEY (the OpenAI API) or OPENAI_BASE_URL (a compatible server)',
        );
      }
      model = new OpenAiModel({
        ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
        ...(config.OPENAI_BASE_URL ? { baseURL: config.OPENAI_BASE_URL } : {}),
        maxRetries: config.LEASH_MODEL_MAX_RETRIES,
        timeoutMs: config.LEASH_MODEL_TIMEOUT_MS,
      });
      modelName = (profile) => config.LEASH_MODEL_NAME ?? profile.model;
      break;
  }
  if (config.LEASH_RECORD_FILE) model = new RecordingModel(model, config.LEASH_RECORD_FILE);
  // Outermost, so a replayed or recorded call is traced the same as a live one.
  return { engine, model: new TracedModel(model, engine), modelName, description };
}

/**
 * The model the planner calls, for start-up lines: the engine, and for
 * openai the endpoint and model name. Never a secret.
 */
export function describeModel(
  config: Pick<AgentLoopConfig, 'LEASH_MODEL' | 'OPENAI_API_KEY' | 'OPENAI_BASE_URL'> & {
    readonly LEASH_MODEL_NAME?: string | undefined;
    readonly LEASH_REPLAY_FILE?: string | undefined;
    readonly LEASH_RECORD_FILE?: string | undefined;
  } & Partial<AgentsConfig>,
): string {
  const engine = modelEngineOf(config);
  const described =
    engine === 'scripted'
      ? 'model scripted'
      : engine === 'replay'
        ? `model replay of ${config.LEASH_REPLAY_FILE ?? '(no LEASH_REPLAY_FILE)'}`
        : `model ${config.LEASH_MODEL_NAME ?? `of each agent's profile (${modelNamesToPrice(config, engine).join(', ')})`} ` +
          `at ${config.OPENAI_BASE_URL ?? 'https://api.openai.com/v1'}`;
  return config.LEASH_RECORD_FILE
    ? `${described}, recorded to ${config.LEASH_RECORD_FILE}`
    : described;
}

/**
 * The model names calls will be booked under: the simulated engines' own,
 * LEASH_MODEL_NAME, or else the models the reference agents name.
 */
export function modelNamesToPrice(
  config: { readonly LEASH_MODEL_NAME?: string | undefined } & Partial<AgentsConfig>,
  engine: ModelEngine,
): string[] {
  if (engine !== 'openai') return [engine];
  if (config.LEASH_MODEL_NAME) return [config.LEASH_MODEL_NAME];
  const agents = agentSetFromConfig({
    LEASH_SEED_REFERENCE_AGENTS: config.LEASH_SEED_REFERENCE_AGENTS ?? true,
    LEASH_AGENT_DIRS: config.LEASH_AGENT_DIRS ?? [],
  }).agents;
  return [...new Set(agents.map((agent) => agent.profile.model))];
}

/**
 * Refuses to start when a model calls would be made under has no price: the
 * budget would refuse every call, and every task would end limit_exceeded.
 */
export function requirePrices(
  config: {
    readonly LEASH_MODEL_NAME?: string | undefined;
    readonly LEASH_MODEL_PRICES: PriceTable;
  } & Partial<AgentsConfig>,
  engine: ModelEngine,
): void {
  const unpriced = modelNamesToPrice(config, engine).filter(
    (name) => !priceFor(config.LEASH_MODEL_PRICES, name),
  );
  if (unpriced.length === 0) return;
  // The table as it stands plus the missing names, as one value to paste.
  const example = [
    ...Object.entries(config.LEASH_MODEL_PRICES).map(
      ([name, price]) =>
        `${name}=${price.inputMicrosPerMTok / 1_000_000}/${price.outputMicrosPerMTok / 1_000_000}`,
    ),
    ...unpriced.map((name) => `${name}=0/0`),
  ].join(',');
  throw new ConfigError('planner', [
    {
      variable: 'LEASH_MODEL_PRICES',
      message:
        `model ${unpriced.map((name) => `"${name}"`).join(', ')} has no price in LEASH_MODEL_PRICES, ` +
        'so the budget would refuse every call to it. Set LEASH_MODEL_PRICES to a comma-separated list of ' +
        'model=input/output, in US dollars per million input/output tokens (it replaces the defaults), ' +
        `e.g. LEASH_MODEL_PRICES='${example}'`,
    },
  ]);
}
