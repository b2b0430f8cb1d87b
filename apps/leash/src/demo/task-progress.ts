import type { AnyEnvelope, TaskStatus } from '@leash/contracts';
import { visible } from '../cli/terminal';

/*
 * One task's events as lines a person reads in a terminal: the steps, each
 * gate's decision, approvals waiting (with the command that answers them),
 * the tools' runs, costs and the end. Shared by `npm start` (the demo) and
 * `leash task watch`.
 */

export interface ProgressOptions {
  /** Reviewers who may answer a group's requests in a tenant, for the printed commands. */
  readonly reviewersFor?: (tenantId: string, group: string) => readonly string[];
  /** ANSI colours (a TTY without NO_COLOR). */
  readonly color?: boolean;
  /** How the CLI is invoked in the printed commands. Default `bin/leash`. */
  readonly cli?: string;
}

export type Tone = 'plain' | 'good' | 'bad' | 'wait' | 'dim';

const ANSI: Record<Tone, [string, string]> = {
  plain: ['', ''],
  good: ['\u001b[32m', '\u001b[39m'],
  bad: ['\u001b[31m', '\u001b[39m'],
  wait: ['\u001b[33m', '\u001b[39m'],
  dim: ['\u001b[2m', '\u001b[22m'],
};

export function paint(text: string, tone: Tone, color: boolean | undefined): string {
  if (!color || tone === 'plain') return text;
  const [open, close] = ANSI[tone];
  return `${open}${text}${close}`;
}

/** Micro-dollars as dollars: cents for money, more digits for model costs. */
export function dollars(micros: number): string {
  if (micros === 0) return '$0';
  if (micros >= 10_000_000) return `$${(micros / 1_000_000).toFixed(2)}`;
  return `$${(micros / 1_000_000).toFixed(6).replace(/0{1,3}$/, '')}`;
}

function short(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 3)}...`;
}

function args(value: Record<string, unknown>): string {
  return short(JSON.stringify(value), 110);
}

/** Exit code of `leash task watch` for each terminal status (2 is the CLI's bad usage). */
export const STATUS_EXIT_CODES: Readonly<Record<TaskStatus, number>> = {
  succeeded: 0,
  failed: 1,
  rejected: 3,
  escalated: 4,
  limit_exceeded: 5,
  killed: 6,
};

export function statusTone(status: TaskStatus): Tone {
  if (status === 'succeeded') return 'good';
  if (status === 'escalated') return 'wait';
  return 'bad';
}

/**
 * The lines one event adds to its task's progress: `[tag, text]` pairs, the
 * tag a short column (step, policy, budget, ...). Events that say nothing
 * new to a person (model grants, usage, per-step budget requests) give none.
 */
export function describeEvent(event: AnyEnvelope, options: ProgressOptions = {}): string[] {
  const c = options.color;
  const cli = options.cli ?? 'bin/leash';
  // The text carries what the task's input, tools, planner and reviewers said: shown, never obeyed.
  const line = (tag: string, text: string, tone: Tone = 'plain') =>
    `${paint(tag.padEnd(9), tone, c)} ${visible(text)}`;
  switch (event.type) {
    case 'leash.tasks.requested.v1':
      return [
        line(
          'task',
          `${event.data.agent} for tenant ${event.tenantId}: "${short(event.data.input, 90)}"`,
        ),
      ];
    case 'leash.actions.proposed.v1': {
      const d = event.data;
      const edit = d.replaces ? ' (a reviewer edit)' : '';
      return [line(`step ${d.step}`, `proposes ${d.tool} ${args(d.arguments)}${edit}`)];
    }
    case 'leash.actions.decided.v1': {
      const { decision, tool } = event.data;
      const by = decision.determiningPolicies.join(', ') || decision.policyId;
      return decision.route === 'allow'
        ? [line('policy', `allows ${tool} (${by})`, 'good')]
        : [
            line(
              'policy',
              `sends ${tool} to a person (${by}, ${decision.approvalsRequired} approval${decision.approvalsRequired === 1 ? '' : 's'}): ${short(decision.reason, 120)}`,
              'wait',
            ),
          ];
    }
    case 'leash.actions.funded.v1': {
      const d = event.data;
      const amount = d.amountUsdMicros ? `, moves ${dollars(d.amountUsdMicros)}` : '';
      return [
        line(
          'budget',
          `funds ${d.tool} (reserved ${dollars(d.grant.reservedUsdMicros)}${amount})`,
          'good',
        ),
      ];
    }
    case 'leash.approvals.requested.v1': {
      const d = event.data;
      const known = event.tenantId
        ? (options.reviewersFor?.(event.tenantId, d.reviewerGroup) ?? [])
        : [];
      // One approve per distinct reviewer the quorum needs.
      const approvers = Array.from(
        { length: d.reviewersRequired },
        (_, i) => known[i] ?? `R${i + 1}`,
      );
      // Reviewers this view does not know of (a tenant without demo reviewers): say where they
      // are listed and how one is added, rather than print a placeholder that cannot work.
      const howToAdd =
        known.length >= d.reviewersRequired
          ? []
          : [
              line(
                '',
                `reviewers: ${cli} reviewers list --tenant ${event.tenantId ?? 'T'}; to add one: ` +
                  `${cli} reviewers keygen --reviewer R, then ${cli} reviewers add --reviewer R ` +
                  `--group ${d.reviewerGroup} --tenant ${event.tenantId ?? 'T'} --public-key @<the R.pub it wrote>`,
              ),
            ];
      return [
        line(
          'WAITING',
          `${d.tool} ${args(d.arguments)} needs ${d.reviewersRequired} reviewer${d.reviewersRequired === 1 ? '' : 's'} of ${d.reviewerGroup}, until ${d.expiresAt}`,
          'wait',
        ),
        ...approvers.map((reviewer) =>
          line('', `approve: ${cli} approvals approve ${d.approvalId} --reviewer ${reviewer}`),
        ),
        line(
          '',
          `reject:  ${cli} approvals reject ${d.approvalId} --reviewer ${approvers[0]} --feedback "..."`,
        ),
        ...howToAdd,
      ];
    }
    case 'leash.approvals.decided.v1': {
      const d = event.data;
      // Only sent: the approvals service may still refuse it (verdict_recorded says).
      return [
        line(
          'reviewer',
          `${d.reviewer} sent ${d.verdict}${d.verdict === 'reject' ? ` ("${short(d.feedback, 80)}")` : ''}`,
          'dim',
        ),
      ];
    }
    case 'leash.approvals.verdict_recorded.v1': {
      const d = event.data;
      if (d.outcome === 'refused') {
        const code = d.refusal ? ` (${d.refusal})` : '';
        return [
          line('REFUSED', `${d.reviewer}: ${d.verdict}${code}: ${short(d.reason, 140)}`, 'bad'),
        ];
      }
      return [line('reviewer', `${d.reviewer}: ${d.verdict} accepted: ${short(d.reason, 120)}`)];
    }
    case 'leash.actions.authorized.v1':
      return [
        line(
          'approved',
          `${event.data.tool} by ${event.data.approval.reviewers.join(', ')}`,
          'good',
        ),
      ];
    case 'leash.actions.rejected.v1': {
      const d = event.data;
      if (d.code === 'edited')
        return [line('edited', `${d.tool}: replaced by ${d.replacedBy ?? 'a new action'}`)];
      const cap = d.cap ? ` [${d.cap}]` : '';
      const reason = short(d.reason, 140);
      // The approvals gate quotes the feedback in its reason; repeat it only where that was cut.
      const quoted = d.feedback !== undefined && reason.includes(short(d.feedback, 140));
      const feedback = d.feedback && !quoted ? ` Reviewer: "${short(d.feedback, 80)}"` : '';
      return [
        line('REFUSED', `${d.tool} by ${d.gate} (${d.code})${cap}: ${reason}${feedback}`, 'bad'),
      ];
    }
    case 'leash.actions.completed.v1': {
      const d = event.data;
      const detail =
        d.status === 'succeeded'
          ? short(d.output ?? '', 80)
          : `${d.error?.kind ?? 'error'}: ${short(d.error?.message ?? '', 100)}`;
      const replay = d.replayed ? ' (stored result, not run again)' : '';
      return [
        line(
          'ran',
          `${d.tool} ${d.status} in ${d.durationMs.toFixed(0)} ms${replay}: ${detail}`,
          d.status === 'succeeded' ? 'good' : 'bad',
        ),
      ];
    }
    case 'leash.budget.decided.v1':
      return event.data.granted
        ? []
        : [
            line(
              'budget',
              `refuses the next model call [${event.data.cap ?? 'cap'}]: ${short(event.data.reason, 120)}`,
              'bad',
            ),
          ];
    case 'leash.tasks.cost_alarm.v1': {
      const d = event.data;
      return [
        line(
          d.action === 'stop' ? 'COST STOP' : 'COST',
          `${dollars(d.costUsdMicros)} is ${d.multiple.toFixed(1)}x the typical ${d.agent.name} task (${dollars(d.typicalUsdMicros)}, median of ${d.sample}); ${d.action === 'stop' ? 'stopped' : `stops at ${d.stopMultiple}x`}`,
          'bad',
        ),
      ];
    }
    case 'leash.tasks.model_switched.v1': {
      const d = event.data;
      return [
        line(
          'model',
          `switched from ${d.from} to ${d.to}: ${dollars(d.spentUsdMicros)} spent of ${dollars(d.budgetUsdMicros)} (${Math.round(d.atBudgetFraction * 100)}% switches)`,
          'wait',
        ),
      ];
    }
    case 'leash.tasks.finished.v1': {
      const d = event.data;
      const cost = d.cost;
      const seconds = (Date.parse(d.finishedAt) - Date.parse(d.startedAt)) / 1000;
      return [
        line(d.status.toUpperCase(), short(d.reason, 160), statusTone(d.status)),
        ...(d.result ? [line('', `result: ${short(d.result, 160)}`)] : []),
        line(
          'cost',
          `${dollars(cost.usdMicros)} (${cost.inputTokens}+${cost.outputTokens} tokens, ${cost.toolCalls} tool call${cost.toolCalls === 1 ? '' : 's'}) in ${seconds.toFixed(1)} s`,
          'dim',
        ),
      ];
    }
    default:
      return [];
  }
}
