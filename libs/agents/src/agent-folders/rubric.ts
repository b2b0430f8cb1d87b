import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDataFile } from '../releases/release-file';

/*
 * An agent's rubric: the questions a person answers about a sample of its
 * real runs each week (`leash review`). It lives in the agent's folder
 * (rubric.yaml), beside what it judges.
 */

export const RubricQuestion = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'snake_case, at most 40 characters'),
    text: z.string().min(1).max(500),
    /** yesno: yes passes; scale: 1 to 5, and 1 or 2 fails. */
    kind: z.enum(['yesno', 'scale']),
  })
  .strict();
export type RubricQuestion = z.infer<typeof RubricQuestion>;

export const Rubric = z
  .object({ questions: z.array(RubricQuestion).min(1).max(20) })
  .strict()
  .refine((r) => new Set(r.questions.map((q) => q.id)).size === r.questions.length, {
    message: 'question ids must be distinct',
  });
export type Rubric = z.infer<typeof Rubric>;

export const RUBRIC_FILE = 'rubric.yaml';

/** The folder's rubric, or undefined when it has none; a bad one is a ReleaseFileError naming the line. */
export function loadRubric(dir: string): Rubric | undefined {
  const file = join(dir, RUBRIC_FILE);
  if (!existsSync(file)) return undefined;
  return parseDataFile(readFileSync(file, 'utf8'), file, Rubric, 'rubric file');
}

/** An answer as a reviewer gives it (`yes`, `no`, `1`..`5`), checked against its question. */
export function answerOf(question: RubricQuestion, text: string): boolean | number {
  const value = text.trim().toLowerCase();
  if (question.kind === 'yesno') {
    if (value === 'yes' || value === 'y') return true;
    if (value === 'no' || value === 'n') return false;
    throw new Error(`${question.id}: answer yes or no, not "${text}"`);
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5) {
    throw new Error(`${question.id}: answer 1 to 5, not "${text}"`);
  }
  return n;
}

/** True when an answer fails its question: a no, or a 1 or 2. */
export function failsQuestion(answer: boolean | number): boolean {
  return typeof answer === 'boolean' ? !answer : answer <= 2;
}
