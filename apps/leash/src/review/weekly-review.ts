import { createHash } from 'node:crypto';
import { answerOf, failsQuestion, type Rubric } from '@leash/agents';
import { reviewItems, runSummaries, type ReviewItem } from '@leash/audit';
import type { Store } from '@leash/store';

/*
 * The weekly sample review: a person reads a random sample of an agent's
 * finished runs, and every flagged failure, against the agent's rubric
 * (rubric.yaml in its folder). Items live in the audit store beside the
 * runs they are about.
 */

/** Statuses of a failure that is always reviewed. */
export const FLAGGED = new Set(['failed', 'limit_exceeded']);

/** The ISO 8601 week of `date` (UTC), e.g. 2026-W49. */
export function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week names its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** A random number generator in [0, 1) that a seed makes reproducible (mulberry32). */
export function seededRandom(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SampleOptions {
  readonly agent: string;
  readonly size: number;
  readonly days: number;
  /** Default: the agent and the week, so drawing twice in one week draws the same runs. */
  readonly seed?: string;
  readonly now: Date;
}

export interface Sample {
  readonly week: string;
  readonly seed: string;
  /** What this call queued (runs queued before are not drawn again). */
  readonly queued: readonly ReviewItem[];
  /** Finished, unflagged runs of the period not queued before: what the random draw was from. */
  readonly pool: number;
}

/** Draws the sample and queues it, with every flagged failure of the period. */
export async function sampleRuns(store: Store, options: SampleOptions): Promise<Sample> {
  const week = isoWeek(options.now);
  const seed = options.seed ?? `${options.agent}/${week}`;
  const since = new Date(options.now.getTime() - options.days * 86_400_000).toISOString();
  const runs = await store.repository(runSummaries).find({
    where: { agent: options.agent },
    range: { field: 'startedAt', gte: since },
    orderBy: 'startedAt',
    limit: 10_000,
  });
  const items = store.repository(reviewItems);
  const fresh = [];
  for (const { doc } of runs) {
    if (doc.status === 'running') continue;
    if (!(await items.get(doc.taskId))) fresh.push(doc);
  }
  const flagged = fresh.filter((run) => FLAGGED.has(run.status));
  // Sorted first, so the draw depends on the seed and the runs, not on the store's order.
  const pool = fresh
    .filter((run) => !FLAGGED.has(run.status))
    .sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  const random = seededRandom(seed);
  for (let i = pool.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const drawn = pool.slice(0, options.size);
  const sampledAt = options.now.toISOString();
  const queued: ReviewItem[] = [
    ...flagged.map((r) => ({ r, reason: 'flagged' as const })),
    ...drawn.map((r) => ({ r, reason: 'random' as const })),
  ].map(({ r, reason }) => ({
    runId: r.taskId,
    agent: r.agent,
    tenantId: r.tenantId,
    week,
    sampledAt,
    reason,
    status: 'queued',
    runStatus: r.status,
    failed: false,
  }));
  await store.transaction(async (tx) => {
    for (const item of queued) await tx.repository(reviewItems).insert(item);
  });
  return { week, seed, queued, pool: pool.length };
}

/** A review that cannot be recorded as given; the message says why. */
export class ReviewError extends Error {
  override readonly name = 'ReviewError';
}

/** Records a person's answers about a queued run; every question of the rubric must be answered. */
export async function scoreRun(
  store: Store,
  rubric: Rubric,
  input: {
    readonly runId: string;
    readonly reviewer: string;
    readonly answers: Readonly<Record<string, string>>;
    readonly note?: string;
    readonly now: Date;
  },
): Promise<ReviewItem> {
  const problems: string[] = [];
  const answers: Record<string, boolean | number> = {};
  for (const question of rubric.questions) {
    const given = input.answers[question.id];
    if (given === undefined) {
      problems.push(`${question.id}: not answered (${question.text})`);
      continue;
    }
    try {
      answers[question.id] = answerOf(question, given);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  for (const id of Object.keys(input.answers)) {
    if (!rubric.questions.some((q) => q.id === id))
      problems.push(`${id}: no such question in the rubric`);
  }
  if (problems.length > 0) throw new ReviewError(problems.join('; '));
  return store.transaction(async (tx) => {
    const items = tx.repository(reviewItems);
    const stored = await items.get(input.runId);
    if (!stored)
      throw new ReviewError(
        `run ${input.runId} is not in the review queue: leash review sample draws runs into it`,
      );
    if (stored.doc.status === 'scored') {
      throw new ReviewError(
        `run ${input.runId} was reviewed by ${stored.doc.reviewer ?? '?'} at ${stored.doc.scoredAt ?? '?'}; nothing changed`,
      );
    }
    const scored: ReviewItem = {
      ...stored.doc,
      status: 'scored',
      answers,
      reviewer: input.reviewer,
      scoredAt: input.now.toISOString(),
      ...(input.note ? { note: input.note } : {}),
      failed: Object.values(answers).some(failsQuestion),
    };
    await items.update(scored, stored.version);
    return scored;
  });
}

export interface WeekReport {
  readonly week: string;
  readonly sampled: number;
  readonly scored: number;
  readonly failed: number;
  /** Per question: the share of yes, or the mean of 1-5, over the scored runs. */
  readonly questions: readonly {
    readonly id: string;
    readonly value: number;
    readonly kind: 'yesno' | 'scale';
  }[];
}

/** Scores by week, newest first, and the runs that failed the rubric. */
export async function reviewReport(
  store: Store,
  agent: string,
  rubric: Rubric,
): Promise<{ readonly weeks: readonly WeekReport[]; readonly failed: readonly ReviewItem[] }> {
  const items = (await store.repository(reviewItems).find({ where: { agent }, limit: 10_000 })).map(
    (i) => i.doc,
  );
  const weeks = [...new Set(items.map((i) => i.week))].sort().reverse();
  return {
    weeks: weeks.map((week) => {
      const of = items.filter((i) => i.week === week);
      const scored = of.filter((i) => i.status === 'scored');
      return {
        week,
        sampled: of.length,
        scored: scored.length,
        failed: scored.filter((i) => i.failed).length,
        questions: rubric.questions.map((q) => {
          const values = scored.map((i) => i.answers?.[q.id]).filter((v) => v !== undefined);
          const value =
            values.length === 0
              ? 0
              : q.kind === 'yesno'
                ? values.filter((v) => v === true).length / values.length
                : values.reduce<number>((sum, v) => sum + Number(v), 0) / values.length;
          return { id: q.id, value, kind: q.kind };
        }),
      };
    }),
    failed: items.filter((i) => i.failed).sort((a, b) => (a.week < b.week ? 1 : -1)),
  };
}
