import { randomUUID } from 'node:crypto';
import { AgentProfile, ReleaseCatalog } from '@leash/agents';
import { runApprovalConsumer, TASK_TOPICS } from '@leash/client';
import type { Environment } from '@leash/config';
import { createEnvelope, type AnyEnvelope, type ReleaseCreatedV1 } from '@leash/contracts';
import { generateGateKey } from '@leash/signing';
import type { Store } from '@leash/store';
import { waitFor } from '@leash/testing';
import { REFERENCE_REVIEWER_GROUPS } from '../demo/demo-reviewers';
import { evalEnv, installReleaseCopy, type ReleaseContent } from '../eval/release-score';
import {
  LeashUnderTest,
  reviewerDirectory,
  testReviewerKey,
  TEST_REVIEWERS,
} from '../eval/leash-under-test';
import { sideOf, verdictOf, type RunSide, type ReplayVerdict } from './compare-runs';
import { ReplayBook, ReplayedTask, type Divergence, type ToolsMode } from './counterfactual';
import { readRecordedRun, recordedRelease, ReplayError, type RecordedRun } from './recorded-run';

/*
 * Counterfactual replay: recorded runs re-run under a changed version on a
 * scratch system in this process (fresh temp engines, a scratch budget
 * ledger, its own operator key). The task input, every tool output and
 * every reviewer's verdict come from the recording; the gates decide for
 * real under the replayed release. Nothing outside changes.
 */

/** What to change for the replay; nothing changed replays the recorded release as it was. */
export interface ReplayChange {
  /** Another release of the run's agent, by number. */
  readonly release?: number;
  /** A new system prompt, as text. */
  readonly prompt?: string;
  /** Another model name on the profile. */
  readonly model?: string;
  /** A new policy, as Cedar text. */
  readonly policy?: string;
}

export interface ReplayOptions {
  readonly change?: ReplayChange;
  readonly tools?: ToolsMode;
  /** How long to wait for every replayed task to finish. */
  readonly timeoutMs?: number;
  /** Variables for the scratch system over the ones it keeps from this process. */
  readonly env?: Environment;
}

export interface ReplayedRun {
  readonly taskId: string;
  readonly agent: string;
  /** `agent@N`, and what the replay ran instead. */
  readonly from: string;
  readonly to: string;
  readonly recorded: RunSide;
  readonly replayed: RunSide;
  readonly divergence?: Divergence;
  readonly verdict: ReplayVerdict;
  /** Read tools run live on the scratch system's backends (`--tools live-read`). */
  readonly liveReads: readonly string[];
  /** The recorded run's model turns, and how many of them the recording answered in the replay. */
  readonly turns: { readonly recorded: number; readonly answered: number };
  /** From which step the configured model was asked, and why. */
  readonly modelAskedFrom?: { readonly step: number; readonly reason: string };
  /** What the audit lacked of the recorded run (see RecordedRun.gaps). */
  readonly gaps: readonly string[];
}

export interface ReplayReport {
  readonly runs: readonly ReplayedRun[];
  readonly wallClockMs: number;
}

/** Far from any real release number, so a replayed copy never meets one. */
const REPLAY_OFFSET = 200_000;

/** The variables the scratch system keeps from this process: agents, prices and the model to ask. */
function replayEnv(): Record<string, string> {
  const kept = [
    'LEASH_MODEL',
    'LEASH_MODEL_NAME',
    'LEASH_REPLAY_FILE',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
  ];
  return {
    ...evalEnv(),
    ...Object.fromEntries(
      kept.flatMap((name) => (process.env[name] !== undefined ? [[name, process.env[name]!]] : [])),
    ),
  };
}

/** Replays finished runs read from `audit` (the audit store); one scratch system for them all. */
export async function replayRuns(
  audit: Store,
  taskIds: readonly string[],
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const started = performance.now();
  if (taskIds.length === 0) throw new ReplayError('no runs to replay');
  const runs: RecordedRun[] = [];
  for (const taskId of new Set(taskIds)) runs.push(await readRecordedRun(audit, taskId));
  const change = options.change ?? {};
  const tenants = [...new Set(runs.map((run) => run.tenantId))];
  const groups = [
    ...new Set([...REFERENCE_REVIEWER_GROUPS, ...runs.flatMap((run) => run.reviewerGroups)]),
  ];
  const operator = generateGateKey('replay-operator');
  const book = new ReplayBook();
  const system = await LeashUnderTest.start({
    tenants,
    inheritEnv: false,
    reviewers: false,
    env: {
      ...replayEnv(),
      ...options.env,
      LEASH_OPERATOR_PUBLIC_KEYS: `${operator.publicKey.id}:${operator.publicKey.publicKey}`,
      LEASH_REVIEWERS: JSON.stringify(reviewerDirectory(tenants, TEST_REVIEWERS, groups)),
    },
    launch: {
      planner: { wrapModel: (model) => book.wrapModel(model) },
      executor: { wrapRegistry: (registry) => book.wrapTools(registry) },
    },
  });
  const events = new Map<string, AnyEnvelope[]>(runs.map((run) => [run.taskId, []]));
  const finished = new Set<string>();
  const closers: (() => Promise<void>)[] = [];
  try {
    const observer = await system.bus.subscribe(
      `replay-observer-${randomUUID().slice(0, 8)}`,
      [...TASK_TOPICS],
      async ({ event }) => {
        const list = event.taskId ? events.get(event.taskId) : undefined;
        if (!list) return;
        list.push(event);
        if (event.type === 'leash.tasks.finished.v1') finished.add(event.taskId!);
      },
      { fromBeginning: true },
    );
    closers.push(() => observer.close());
    for (const reviewer of TEST_REVIEWERS) {
      const consumer = await runApprovalConsumer(system.bus, {
        reviewer,
        key: testReviewerKey(reviewer),
        source: 'leash-replay',
        decide: async (request) => {
          // One reviewer answers as recorded; the other adds the second approval a quorum of two needs.
          if (reviewer !== TEST_REVIEWERS[0]) {
            return request.reviewersRequired > 1 &&
              book
                .task(request.taskId)
                ?.recordedVerdict(request.actionId, request.tool, request.arguments)?.verdict ===
                'approve'
              ? { verdict: 'approve', comment: 'as recorded' }
              : undefined;
          }
          return book.verdictFor(request);
        },
      });
      closers.push(() => consumer.close());
    }

    const releases = new Map<
      string,
      { release: number; label: string; content: ReleaseContent; base: ReleaseContent }
    >();
    for (const run of runs) {
      const key = `${run.agent}@${run.release}`;
      if (releases.has(key)) continue;
      const base = await releaseContent(audit, system, run.agent, run.release, run.promptVersion);
      const target =
        change.release === undefined
          ? base
          : await releaseContent(audit, system, run.agent, change.release);
      const content = changed(target, change);
      const release = REPLAY_OFFSET + releases.size + 1;
      const label = describeChange(run.agent, change);
      await installReleaseCopy(system, content, operator.signingKey, {
        release,
        description: `replay of ${key}${label ? ` with ${label}` : ''}`,
        author: 'leash-replay',
      });
      releases.set(key, { release, label: label || `${key} as recorded`, content, base });
    }

    for (const run of runs) {
      const installed = releases.get(`${run.agent}@${run.release}`)!;
      book.add(
        new ReplayedTask(run, {
          promptChanged: installed.content.prompt.text !== installed.base.prompt.text,
          modelChanged: installed.content.profile.model !== installed.base.profile.model,
          tools: options.tools ?? 'recorded',
        }),
      );
      const { agentVersion: _pinned, deadlineAt: _deadline, ...request } = run.request;
      await system.bus.publish(
        'tasks.requested',
        createEnvelope(
          'leash.tasks.requested.v1',
          { ...request, agentVersion: installed.release },
          { source: 'leash-replay', tenantId: run.tenantId, taskId: run.taskId },
        ),
      );
    }
    try {
      await waitFor(() => finished.size === runs.length || undefined, {
        timeoutMs: options.timeoutMs ?? 120_000,
        intervalMs: 5,
        description: 'every replayed task to finish',
      });
    } catch {
      // Unfinished replays are reported as such.
    }

    return {
      runs: runs.map((run) => {
        const task = book.task(run.taskId)!;
        const recorded = sideOf(run.events);
        const replayed = sideOf(events.get(run.taskId) ?? []);
        const installed = releases.get(`${run.agent}@${run.release}`)!;
        return {
          taskId: run.taskId,
          agent: run.agent,
          from: `${run.agent}@${run.release}`,
          to: installed.label,
          recorded,
          replayed,
          ...(task.divergence ? { divergence: task.divergence } : {}),
          verdict: verdictOf(recorded, replayed, task.divergence),
          liveReads: task.liveReads,
          turns: { recorded: run.turns.length, answered: task.answeredTurns.size },
          ...(task.askedModelFrom ? { modelAskedFrom: task.askedModelFrom } : {}),
          gaps: run.gaps,
        };
      }),
      wallClockMs: performance.now() - started,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await system.stop();
  }
}

/**
 * A release's content: as its operator created it (the audit's copy of the
 * control topic), or, for a release the services seeded from agent folders,
 * as the scratch system seeded it from the same folders, provided its
 * prompt is the one the run states it used.
 */
async function releaseContent(
  audit: Store,
  system: LeashUnderTest,
  agent: string,
  release: number,
  promptVersion?: string,
): Promise<ReleaseContent> {
  const created: ReleaseCreatedV1 | undefined = await recordedRelease(audit, agent, release);
  if (created) {
    return {
      agent,
      release,
      profile: AgentProfile.parse(created.profile),
      prompt: created.prompt,
      policy: created.policy,
      toolsVersion: created.toolsVersion,
      canary: created.canary,
    };
  }
  const view = await new ReleaseCatalog(system.store).release(agent, release);
  if (!view?.seeded || view.prompt.text === undefined || view.policy.cedar === undefined) {
    throw new ReplayError(
      `release ${agent}@${release} is neither in the audit log nor seeded here from the agent folders, so it cannot be replayed`,
    );
  }
  if (promptVersion && !promptVersion.startsWith(`${view.prompt.id}@${view.prompt.version}+`)) {
    throw new ReplayError(
      `the run used prompt ${promptVersion}, but the agent folders here seed ${view.prompt.id}@${view.prompt.version}: replay from the folders the run used (LEASH_AGENT_DIRS)`,
    );
  }
  return {
    ...view,
    prompt: { ...view.prompt, text: view.prompt.text },
    policy: { ...view.policy, cedar: view.policy.cedar },
  };
}

function changed(content: ReleaseContent, change: ReplayChange): ReleaseContent {
  return {
    ...content,
    ...(change.prompt !== undefined ? { prompt: { ...content.prompt, text: change.prompt } } : {}),
    ...(change.policy !== undefined ? { policy: { ...content.policy, cedar: change.policy } } : {}),
    ...(change.model !== undefined ? { profile: { ...content.profile, model: change.model } } : {}),
  };
}

function describeChange(agent: string, change: ReplayChange): string {
  return [
    change.release !== undefined ? `${agent}@${change.release}` : undefined,
    change.prompt !== undefined ? 'a new prompt' : undefined,
    change.model !== undefined ? `model ${change.model}` : undefined,
    change.policy !== undefined ? 'a new policy' : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}
