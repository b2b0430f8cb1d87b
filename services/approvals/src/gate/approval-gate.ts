import type { ProfileSource } from '@leash/agents';
import { utcIso, type Clock } from '@leash/clock';
import type { ActionFundedV1 } from '@leash/contracts';
import type { KillSwitch } from '@leash/kill-switch';
import type { GateSigner, GateVerifier } from '@leash/signing';
import type { Store, Transaction } from '@leash/store';
import type { ReviewerDirectory } from '../reviewers/reviewer-directory';
import type { TrustedFrontEnd } from '../reviewers/trusted-front-end';
import {
  HISTORY_LIMIT,
  taskHistories,
  taskHistoryId,
  type TaskHistory,
} from './approvals.aggregates';

/** What the gate's use cases are built from; every side effect goes through one of these. */
export interface ApprovalGateDeps {
  readonly store: Store;
  /** Where the approval chain and TTL of an agent come from. */
  readonly profiles: ProfileSource;
  /** Signs approvals and the gate's rejections, with the approvals gate's private key. */
  readonly signer: GateSigner;
  /** Checks policy decisions and budget grants, with those gates' public keys only. */
  readonly verifier: GateVerifier;
  readonly directory: ReviewerDirectory;
  /** Front ends whose signature proves the reviewer a verdict names (LEASH_REVIEWER_FRONT_ENDS). */
  readonly frontEnds: readonly TrustedFrontEnd[];
  readonly clock: Clock;
  /** How long a signed approval stays valid after the deciding verdict. */
  readonly approvalValidityMs: number;
  /** The CloudEvents source of what the gate publishes. */
  readonly source: string;
  /** The service's kill switch: nothing in a killed scope goes to reviewers or gets authorized. */
  readonly killSwitch?: Pick<KillSwitch, 'covering'>;
}

export const APPROVALS_SOURCE = 'approvals';
export const DEFAULT_APPROVAL_VALIDITY_MS = 900_000;

/** Inbox consumer names: one per handler, so each dedupes the events it has processed. */
export const CONSUMERS = {
  actionsFunded: 'approvals:actions.funded',
  approvalsDecided: 'approvals:approvals.decided',
  tasksFinished: 'approvals:tasks.finished',
} as const;

const ARGUMENTS_SHOWN = 300;

/** One line naming an action, for the history reviewers read. */
export function actionLine(action: Pick<ActionFundedV1, 'step' | 'tool' | 'arguments'>): string {
  let args = JSON.stringify(action.arguments);
  if (args.length > ARGUMENTS_SHOWN) args = `${args.slice(0, ARGUMENTS_SHOWN)}…`;
  return `step ${action.step} ${action.tool} ${args}`;
}

/** Appends to a task's history, keeping the newest entries; returns the lines before this one. */
export async function appendHistory(
  tx: Transaction,
  tenantId: string,
  taskId: string,
  line: string,
  at: number,
): Promise<string[]> {
  const repository = tx.repository(taskHistories);
  const stored = await repository.get(taskHistoryId(tenantId, taskId));
  const before = stored?.doc.entries ?? [];
  const entry = { at: utcIso(at), line: line.slice(0, 2_000) };
  const doc: TaskHistory = {
    ...stored?.doc,
    tenantId,
    taskId,
    entries: [...before, entry].slice(-HISTORY_LIMIT),
    updatedAt: utcIso(at),
  };
  if (stored) await repository.update(doc, stored.version);
  else await repository.insert(doc);
  return before.map((e) => e.line);
}

/** Notes in a task's history that it finished, so no approval is asked for it afterwards. */
export async function markTaskFinished(
  tx: Transaction,
  tenantId: string,
  taskId: string,
  status: string,
  at: number,
): Promise<void> {
  const repository = tx.repository(taskHistories);
  const stored = await repository.get(taskHistoryId(tenantId, taskId));
  const finished = { status, at: utcIso(at) };
  if (stored) await repository.update({ ...stored.doc, finished }, stored.version);
  else await repository.insert({ tenantId, taskId, entries: [], finished, updatedAt: utcIso(at) });
}

/** How the task finished, when it has; undefined while it runs (as far as this gate heard). */
export async function taskFinished(
  tx: Transaction,
  tenantId: string,
  taskId: string,
): Promise<TaskHistory['finished']> {
  return (await tx.repository(taskHistories).get(taskHistoryId(tenantId, taskId)))?.doc.finished;
}
