import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDataFile } from '../releases/release-file';
import {
  act,
  final,
  ScenarioExpectation,
  type ReferenceScenario,
  type ScenarioScript,
} from '../reference/scenario';

/*
 * Golden tasks written as data, in an agent folder's golden/ directory, one
 * JSON file a task: what `leash review promote` writes from a reviewed run
 * (its input, its expectations, and its recorded trajectory as the script
 * the scripted model plays). They join the golden set beside the scenarios
 * written as code.
 */

export const GOLDEN_DIR = 'golden';

const RecordedCall = z
  .object({ tool: z.string().min(1), arguments: z.record(z.string(), z.unknown()) })
  .strict();

export const GoldenTaskFile = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$/, '<agent>.<name>, kebab-case'),
    agent: z.string().min(1),
    title: z.string().min(1).max(500),
    input: z.string().min(1).max(100_000),
    requestedBy: z.string().min(1).optional(),
    tags: z.array(z.string().min(1)).min(1),
    expect: ScenarioExpectation,
    /** The recorded model turns, in order: what it said and the calls it made. */
    script: z
      .object({
        turns: z.array(z.object({ say: z.string(), calls: z.array(RecordedCall).min(1) }).strict()),
        final: z.string(),
      })
      .strict(),
    /** Where the task came from: the run and its review. */
    source: z
      .object({
        runId: z.string().min(1),
        reviewer: z.string().optional(),
        scoredAt: z.string().optional(),
        note: z.string().optional(),
      })
      .strict(),
  })
  .strict()
  .refine((file) => file.id.startsWith(`${file.agent}.`), {
    message: 'the id starts with the agent name and a dot',
  });
export type GoldenTaskFile = z.infer<typeof GoldenTaskFile>;

/** A script that plays the recorded turns one per model call, then gives the recorded answer. */
export function recordedScript(script: GoldenTaskFile['script']): ScenarioScript {
  return (conversation) => {
    const turn = script.turns[conversation.turn];
    return turn ? act(turn.say, ...turn.calls) : final(script.final);
  };
}

/** The scenario a golden task file describes. */
export function scenarioOfGoldenTask(file: GoldenTaskFile): ReferenceScenario {
  return {
    id: file.id,
    agent: file.agent,
    title: file.title,
    input: file.input,
    ...(file.requestedBy !== undefined ? { requestedBy: file.requestedBy } : {}),
    tags: file.tags,
    expect: file.expect,
    script: recordedScript(file.script),
  };
}

/** The golden tasks of an agent folder, by file name; none when it has no golden/ directory. */
export function loadGoldenTasks(folder: string): ReferenceScenario[] {
  const dir = join(folder, GOLDEN_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      return scenarioOfGoldenTask(
        parseDataFile(readFileSync(file, 'utf8'), file, GoldenTaskFile, 'golden task file'),
      );
    });
}

/** Writes a golden task into the folder's golden/ directory; refuses to overwrite one. Returns the path. */
export function writeGoldenTask(folder: string, task: GoldenTaskFile): string {
  const checked = GoldenTaskFile.parse(task);
  const dir = join(folder, GOLDEN_DIR);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${checked.id.slice(checked.agent.length + 1)}.json`);
  if (existsSync(file))
    throw new Error(`${file} exists: a golden task is changed by hand, with a reason`);
  writeFileSync(file, `${JSON.stringify(checked, null, 2)}\n`, { flag: 'wx' });
  return file;
}
