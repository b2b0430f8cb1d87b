import { parseArgs } from 'node:util';
import type { AgentSet, Rubric } from '@leash/agents';
import { reviewItems } from '@leash/audit';
import type { Store } from '@leash/store';
import { promoteRun } from '../review/promote-run';
import { ReviewError, reviewReport, sampleRuns, scoreRun } from '../review/weekly-review';
import { UsageError } from './arguments';
import type { Terminal } from './terminal';

/** `leash review ...`: the weekly sample review of an agent's real runs. */
export type ReviewCommand =
  | { readonly kind: 'help'; readonly topic: 'review' }
  | {
      readonly kind: 'review-sample';
      readonly agent: string;
      readonly size: number;
      readonly days: number;
      readonly seed?: string;
    }
  | { readonly kind: 'review-list'; readonly agent: string }
  | {
      readonly kind: 'review-score';
      readonly runId: string;
      readonly reviewer: string;
      readonly answers: Readonly<Record<string, string>>;
      readonly note?: string;
    }
  | { readonly kind: 'review-report'; readonly agent: string }
  | { readonly kind: 'review-promote'; readonly runId: string; readonly name?: string };

export const REVIEW_HELP = `leash review sample --agent A [--size 40] [--days 7] [--seed S]
leash review list --agent A
leash review score RUN_ID --answer ID=VALUE ... [--note "..."] [--by REVIEWER]
leash review report --agent A
leash review promote RUN_ID [--name NAME]

The weekly sample review: a person reads real runs against the agent's rubric
(rubric.yaml in its folder: yes/no questions, and 1-5 ones).
sample draws --size runs at random from the agent's finished runs of the last
--days, and queues them with every flagged failure (failed, limit_exceeded)
of that period; a run is queued once. The draw is reproducible: its seed is
the agent and the ISO week unless --seed gives one, and is printed.
list shows the queue with the questions to answer. score records a review:
every question answered (yes/no, or 1 to 5); a no, or a 1 or 2, fails the
rubric. report shows, by week, how many runs were drawn and reviewed, the
share of yes (or the mean) per question, and the runs that failed.
promote turns a run a reviewer passed into a golden task, written as data in
its agent folder (golden/NAME.json; NAME defaults to promoted-RUN_ID): its
input, the status it ended with, the tools it ran as required, how its
approvals were answered, the gate decisions that happened, and its recorded
trajectory as the script the scripted model plays. For a reference agent,
npm run eval:lock then pins it in the golden set.
`;

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new UsageError(
      `review: ${flag} takes a whole number from 1 to 10000, got "${value}"`,
      'review',
    );
  }
  return n;
}

export function parseReviewCommand(
  argv: readonly string[],
  options: { readonly issuedBy: string },
): ReviewCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || ['help', '--help', '-h'].includes(sub))
    return { kind: 'help', topic: 'review' };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        agent: { type: 'string' },
        size: { type: 'string' },
        days: { type: 'string' },
        seed: { type: 'string' },
        answer: { type: 'string', multiple: true },
        note: { type: 'string' },
        by: { type: 'string' },
        name: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`review ${sub}: ${(error as Error).message.split('. ')[0]}`, 'review');
  }
  const { values, positionals } = parsed;
  const agent = () => {
    const name = values.agent?.trim();
    if (!name) throw new UsageError(`review ${sub} needs --agent A`, 'review');
    return name;
  };
  switch (sub) {
    case 'sample':
      return {
        kind: 'review-sample',
        agent: agent(),
        size: positive('--size', values.size, 40),
        days: positive('--days', values.days, 7),
        ...(values.seed ? { seed: values.seed } : {}),
      };
    case 'list':
      return { kind: 'review-list', agent: agent() };
    case 'report':
      return { kind: 'review-report', agent: agent() };
    case 'score': {
      const [runId, ...extra] = positionals;
      if (!runId || extra.length > 0)
        throw new UsageError('review score takes one RUN_ID', 'review');
      const answers: Record<string, string> = {};
      for (const pair of values.answer ?? []) {
        const eq = pair.indexOf('=');
        if (eq < 1)
          throw new UsageError(`review score: --answer takes ID=VALUE, got "${pair}"`, 'review');
        answers[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
      }
      return {
        kind: 'review-score',
        runId,
        reviewer: values.by?.trim() || options.issuedBy,
        answers,
        ...(values.note ? { note: values.note } : {}),
      };
    }
    case 'promote': {
      const [runId, ...extra] = positionals;
      if (!runId || extra.length > 0)
        throw new UsageError('review promote takes one RUN_ID', 'review');
      return { kind: 'review-promote', runId, ...(values.name ? { name: values.name } : {}) };
    }
    default:
      throw new UsageError(`unknown review command "${sub}"`, 'review');
  }
}

export async function runReviewCommand(
  command: Exclude<ReviewCommand, { kind: 'help' }>,
  store: Store,
  agents: AgentSet,
  terminal: Terminal,
  now: Date = new Date(),
): Promise<number> {
  const rubricOf = (agent: string): Rubric => {
    const definition = agents.agent(agent);
    if (!definition) {
      throw new ReviewError(
        `no agent "${agent}" here; agents: ${agents.agents.map((a) => a.profile.name).join(', ')}`,
      );
    }
    if (!definition.rubric) {
      throw new ReviewError(
        `${agent} has no rubric: add rubric.yaml to its folder (${definition.source.dir})`,
      );
    }
    return definition.rubric;
  };
  try {
    switch (command.kind) {
      case 'review-sample': {
        rubricOf(command.agent);
        const sample = await sampleRuns(store, { ...command, now });
        const flagged = sample.queued.filter((i) => i.reason === 'flagged').length;
        terminal.out(
          `queued ${sample.queued.length} run(s) of ${command.agent} for ${sample.week}: ${sample.queued.length - flagged} drawn at random from ${sample.pool} finished in the last ${command.days} day(s) (seed ${sample.seed}), ${flagged} flagged failure(s)`,
        );
        for (const item of sample.queued)
          terminal.out(`  ${item.runId}  ${item.runStatus}  ${item.reason}`);
        return 0;
      }
      case 'review-list': {
        const rubric = rubricOf(command.agent);
        const queued = await store
          .repository(reviewItems)
          .find({ where: { agent: command.agent, status: 'queued' }, limit: 10_000 });
        terminal.out(`${queued.length} run(s) of ${command.agent} wait for review`);
        for (const { doc } of queued) {
          terminal.out(
            `  ${doc.runId}  ${doc.runStatus}  ${doc.reason}  ${doc.week}  (leash audit ${doc.runId})`,
          );
        }
        terminal.out('questions:');
        for (const q of rubric.questions) {
          terminal.out(`  ${q.id} (${q.kind === 'yesno' ? 'yes/no' : '1-5'}): ${q.text}`);
        }
        if (queued[0]) {
          terminal.out(
            `score one: leash review score ${queued[0].doc.runId} ${rubric.questions.map((q) => `--answer ${q.id}=${q.kind === 'yesno' ? 'yes' : '4'}`).join(' ')} --note "..."`,
          );
        }
        return 0;
      }
      case 'review-score': {
        const item = (await store.repository(reviewItems).get(command.runId))?.doc;
        if (!item)
          throw new ReviewError(
            `run ${command.runId} is not in the review queue: leash review sample draws runs into it`,
          );
        const scored = await scoreRun(store, rubricOf(item.agent), { ...command, now });
        terminal.out(
          `reviewed ${scored.runId} (${scored.agent}): ${scored.failed ? 'FAILED the rubric' : 'passed the rubric'}`,
        );
        return 0;
      }
      case 'review-promote': {
        const { file, task } = await promoteRun(store, agents, command);
        terminal.out(
          `wrote ${file}: golden task ${task.id}, expects ${task.expect.status}, ${task.expect.requiredTools.length} required tool(s), ${task.script.turns.length} recorded turn(s)`,
        );
        return 0;
      }
      case 'review-report': {
        const rubric = rubricOf(command.agent);
        const report = await reviewReport(store, command.agent, rubric);
        if (report.weeks.length === 0) {
          terminal.out(
            `no run of ${command.agent} was drawn for review yet: leash review sample --agent ${command.agent}`,
          );
          return 0;
        }
        for (const week of report.weeks) {
          const answers = week.questions
            .map(
              (q) =>
                `${q.id} ${q.kind === 'yesno' ? `${Math.round(q.value * 100)}% yes` : `${q.value.toFixed(1)}/5`}`,
            )
            .join(', ');
          terminal.out(
            `${week.week}: ${week.scored} of ${week.sampled} reviewed, ${week.failed} failed${week.scored > 0 ? `; ${answers}` : ''}`,
          );
        }
        if (report.failed.length > 0) {
          terminal.out('failed the rubric:');
          for (const item of report.failed) {
            const misses = rubric.questions
              .filter((q) => {
                const a = item.answers?.[q.id];
                return a !== undefined && (typeof a === 'boolean' ? !a : a <= 2);
              })
              .map((q) => q.id);
            terminal.out(
              `  ${item.runId}  ${item.week}  by ${item.reviewer ?? '?'}: ${misses.join(', ')}${item.note ? `: ${item.note}` : ''}`,
            );
          }
        }
        return 0;
      }
    }
  } catch (error) {
    if (!(error instanceof ReviewError)) throw error;
    terminal.err(`leash: ${error.message}`);
    return 2;
  }
}
