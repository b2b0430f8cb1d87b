import { createHash } from 'node:crypto';
import { createEnvelope, type ActionFundedV1, type Envelope } from '@leash/contracts';

/** The id of the action an edit proposes: derived from the old action and the verdict, so a rerun makes the same one. */
export function editedActionId(tenantId: string, actionId: string, verdictId: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([tenantId, actionId, verdictId]))
    .digest('hex');
  return `act_${digest.slice(0, 32)}`;
}

function leaves(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (typeof value === 'number' && Number.isFinite(value)) out.add(String(value));
  else if (Array.isArray(value)) for (const item of value) leaves(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) leaves(item, out);
  }
  return out;
}

/**
 * Values of the original arguments that the edit kept. The funded event does
 * not say which of them came from untrusted output, so every kept value is
 * reported as tainted: the policy gate then judges the edited action at least
 * as strictly as the original, and a reviewer's edit cannot wash a taint away.
 */
export function keptValues(
  original: Readonly<Record<string, unknown>>,
  edited: Readonly<Record<string, unknown>>,
): string[] {
  const before = leaves(original, new Set());
  const after = leaves(edited, new Set());
  return [...after].filter((value) => before.has(value) && value.length <= 10_000).slice(0, 1_000);
}

export interface EditedProposalInput {
  readonly tenantId: string;
  readonly taskId: string;
  readonly funded: ActionFundedV1;
  readonly verdictId: string;
  readonly reviewer: string;
  readonly arguments: Record<string, unknown>;
  readonly comment?: string;
  readonly source: string;
  readonly time: string;
}

/** A new proposal in place of the edited action: it goes through policy and budget again. */
export function editedProposal(input: EditedProposalInput): Envelope<'leash.actions.proposed.v1'> {
  const { funded } = input;
  const actionId = editedActionId(input.tenantId, funded.actionId, input.verdictId);
  const note = input.comment ? ` ("${input.comment}")` : '';
  const reason =
    `Reviewer ${input.reviewer} edited the arguments of ${funded.tool}${note}, replacing action ` +
    `${funded.actionId}. The planner's reason was: ${funded.reason}`;
  return createEnvelope(
    'leash.actions.proposed.v1',
    {
      actionId,
      agent: funded.agent,
      tool: funded.tool,
      arguments: input.arguments,
      step: funded.step,
      reason: reason.slice(0, 10_000),
      tainted: keptValues(funded.arguments, input.arguments),
      replaces: funded.actionId,
      versions: funded.versions,
    },
    {
      id: `actions.proposed:${actionId}`,
      source: input.source,
      tenantId: input.tenantId,
      taskId: input.taskId,
      time: input.time,
    },
  );
}
