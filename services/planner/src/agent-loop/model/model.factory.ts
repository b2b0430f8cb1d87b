import type { AgentProfile } from '@leash/agents';
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
  let description: string;
  switch (engine) {
    case 'scripted':
      model = new ScriptedModel(scripts);
      // Simulated engines are booked under their own (priced) names, not the profile's model.
      modelName = () => 'scripted';
      description = 'scripted scenarios';
      break;
    case 'replay': {
      const file = config.LEASH_REPLAY_FILE;
      if (!file) throw new Error('LEASH_MODEL=replay needs LEASH_REPLAY_FILE');
      model = ReplayModel.fromFile(file);
      modelName = () => 'replay';
      description = `replay of ${file}`;
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
      description = `openai at ${config.OPENAI_BASE_URL ?? 'https://api.openai.com/v1'}`;
      break;
  }
  if (config.LEASH_RECORD_FILE) {
    model = new RecordingModel(model, config.LEASH_RECORD_FILE);
    description += `, recorded to ${config.LEASH_RECORD_FILE}`;
  }
  // Outermost, so a replayed or recorded call is traced the same as a live one.
  return { engine, model: new TracedModel(model, engine), modelName, description };
}
