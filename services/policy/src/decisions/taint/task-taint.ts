import type { Envelope } from '@leash/contracts';
import type { Transaction } from '@leash/store';
import { UntrustedValues, candidateValues, leaves, normalisedValue } from '@leash/taint';
import {
  activityId,
  taskTaint,
  type ParkedProposal,
  type TaskTaint,
} from '../decisions.aggregates';
import type { SeenUntrusted } from '../evaluation/derived-facts';

/*
 * The gate's record of one task's untrusted content, kept by the use cases
 * that read tasks.requested, actions.completed and actions.rejected, and
 * read by the decision. Pure functions over the stored document.
 */

/**
 * The record's bound: characters of values kept (task input, outputs and
 * errors, their tokens), and values. Past it the record stops taking values
 * and is marked overflowed, and every argument of the task's later
 * proposals counts as tainted: a fact is never lost silently.
 */
export const TAINT_RECORD_MAX_CHARS = 1_000_000;
export const TAINT_RECORD_MAX_VALUES = 20_000;
/** Proposals of one task waiting for the record at once; more are refused. */
export const MAX_PARKED_PROPOSALS = 50;

export interface LoadedTaint {
  readonly doc: TaskTaint;
  /** Undefined: not stored yet. */
  readonly version: number | undefined;
}

export async function loadTaint(
  tx: Transaction,
  tenantId: string,
  taskId: string,
  now: number,
): Promise<LoadedTaint> {
  const stored = await tx.repository(taskTaint).get(activityId(tenantId, taskId));
  if (stored) return { doc: structuredClone(stored.doc), version: stored.version };
  return {
    doc: {
      tenantId,
      taskId,
      inputSeen: false,
      values: [],
      verified: [],
      chars: 0,
      overflowed: false,
      awaiting: {},
      parked: [],
      updatedAt: new Date(now).toISOString(),
    },
    version: undefined,
  };
}

export async function saveTaint(tx: Transaction, loaded: LoadedTaint, now: number): Promise<void> {
  const doc = { ...loaded.doc, updatedAt: new Date(now).toISOString() };
  const repository = tx.repository(taskTaint);
  if (loaded.version === undefined) await repository.insert(doc);
  else await repository.update(doc, loaded.version);
}

function keep(doc: TaskTaint, into: string[], values: Iterable<string>): void {
  const known = new Set(into);
  for (const value of values) {
    if (known.has(value)) continue;
    if (
      doc.chars + value.length > TAINT_RECORD_MAX_CHARS ||
      doc.values.length + doc.verified.length >= TAINT_RECORD_MAX_VALUES
    ) {
      doc.overflowed = true;
      return;
    }
    known.add(value);
    into.push(value);
    doc.chars += value.length;
  }
}

/** Records an untrusted text (the task input, a tool's output or error). */
export function recordUntrusted(doc: TaskTaint, text: string): void {
  keep(doc, doc.values, candidateValues(text));
}

/** Records the values of a read tool's output about the requester as verified. */
export function recordVerified(doc: TaskTaint, output: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return; // Only structured output names ids the system of record returned.
  }
  keep(
    doc,
    doc.verified,
    leaves(parsed)
      .map(normalisedValue)
      .filter((v) => v.length > 0),
  );
}

/** Why a proposal at `step` cannot be decided yet; undefined when the record has all it needs. */
export function waitingFor(doc: TaskTaint, step: number): string | undefined {
  if (!doc.inputSeen) return 'the task input (tasks.requested) has not reached the policy gate yet';
  const earlier = Object.entries(doc.awaiting)
    .filter(([, action]) => action.step < step)
    .map(([actionId]) => actionId);
  if (earlier.length > 0) {
    return `the outcome of ${earlier.sort().join(', ')} (an earlier step) has not reached the policy gate yet`;
  }
  return undefined;
}

/** Whether a read's arguments name the task's requester, so its output verifies what it returns. */
export function aboutRequester(doc: TaskTaint, args: Readonly<Record<string, unknown>>): boolean {
  const requester = doc.requestedBy;
  if (requester === undefined) return false;
  return leaves(args).some((leaf) => normalisedValue(leaf) === requester);
}

export function seenOf(doc: TaskTaint): SeenUntrusted {
  return {
    values: UntrustedValues.of(doc.values),
    overflowed: doc.overflowed,
    verified: new Set(doc.verified),
  };
}

export function parkedOf(
  event: Envelope<'leash.actions.proposed.v1'>,
  headers: Readonly<Record<string, string>>,
): ParkedProposal {
  return {
    eventId: event.id,
    step: event.data.step,
    event: event as unknown as Record<string, unknown>,
    headers: { ...headers },
  };
}

/** The parked proposals the record now has all it needs for, oldest first. */
export function releasable(doc: TaskTaint): ParkedProposal[] {
  return doc.parked.filter((parked) => waitingFor(doc, parked.step) === undefined);
}
