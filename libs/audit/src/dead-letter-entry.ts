import type { DeadLetter } from '@leash/bus';
import type { AuditEntry } from './audit.aggregates';

/*
 * A refused event as the audit keeps it. The event did not pass validation
 * (or its handler failed it), so what it says about itself is a claim: kept
 * as claimed, to trace a forgery back to who sent it, never trusted.
 */

/** What a dead-lettered event says it is; each field only when it could be read. */
export interface ClaimedAttributes {
  readonly id?: string;
  readonly source?: string;
  readonly type?: string;
  readonly taskId?: string;
  readonly tenantId?: string;
  /** Where they were read: CloudEvents headers, the JSON value, or a value that is not whole JSON. */
  readonly from: 'headers' | 'value' | 'partial value' | 'nothing';
}

/** Longer claims are cut: they are for finding the sender, not for storing what a forger sends. */
const MAX_CLAIM = 200;
/** How much of a value that is not JSON is searched for attributes. */
const MAX_SCAN = 64 * 1024;

const ATTRIBUTES = {
  id: ['id'],
  source: ['source'],
  type: ['type'],
  taskId: ['taskid', 'taskId'],
  tenantId: ['tenantid', 'tenantId'],
} as const;
type Attribute = keyof typeof ATTRIBUTES;

function claim(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > MAX_CLAIM ? `${value.slice(0, MAX_CLAIM)}...` : value;
}

function pick(read: (name: string) => unknown): Partial<Record<Attribute, string>> {
  const out: Partial<Record<Attribute, string>> = {};
  for (const [attribute, names] of Object.entries(ATTRIBUTES) as [Attribute, readonly string[]][]) {
    for (const name of names) {
      const value = claim(read(name));
      if (value !== undefined) {
        out[attribute] = value;
        break;
      }
    }
  }
  return out;
}

/**
 * The id, source, type, task and tenant a dead-lettered event claims: from
 * its `ce_*` headers (binary mode), else from its value as a whole
 * CloudEvent (structured mode), else, from a value that does not parse,
 * whatever top-level-looking `"name": "text"` pairs it holds.
 */
export function claimedAttributes(letter: DeadLetter): ClaimedAttributes {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(letter.headers)) headers[name.toLowerCase()] = value;
  if (headers['ce_id'] !== undefined || headers['ce_source'] !== undefined) {
    return { ...pick((name) => headers[`ce_${name.toLowerCase()}`]), from: 'headers' };
  }
  const text = letter.value.subarray(0, MAX_SCAN).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(letter.value.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      const found = pick((name) => record[name]);
      return Object.keys(found).length > 0 ? { ...found, from: 'value' } : { from: 'nothing' };
    }
    return { from: 'nothing' };
  } catch {
    // Cut or broken JSON: the attributes it starts with may still be there.
    const found = pick((name) => {
      const match = new RegExp(`"${name}"\\s*:\\s*"((?:[^"\\\\]|\\\\.){1,${MAX_CLAIM}})"`).exec(
        text,
      );
      if (!match) return undefined;
      try {
        return JSON.parse(`"${match[1]}"`) as unknown;
      } catch {
        return match[1];
      }
    });
    return Object.keys(found).length > 0
      ? { ...found, from: 'partial value' }
      : { from: 'nothing' };
  }
}

/** The audit entry of one dead letter, keyed by where the event was in the log and who refused it. */
export function deadLetterEntry(letter: DeadLetter, recordedAt: string): AuditEntry {
  const claimed = claimedAttributes(letter);
  const id = claimed.id !== undefined ? `event ${claimed.id}` : 'an event with no readable id';
  const source =
    claimed.source !== undefined ? `claiming source ${claimed.source}` : 'claiming no source';
  return {
    entryId: `dlq:${letter.originalTopic}:${letter.originalPartition}:${letter.originalOffset}:${letter.group}`,
    taskId: claimed.taskId ?? null,
    tenantId: claimed.tenantId ?? null,
    type: claimed.type ?? 'unknown',
    topic: letter.originalTopic,
    source: claimed.source ?? '',
    time: letter.failedAt,
    recordedAt,
    kind: 'dead_letter',
    summary: `dead-lettered by ${letter.group} after ${letter.attempts} attempt(s): ${id} ${source} (at ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}): ${letter.error.slice(0, 500)}`,
    data: {
      error: letter.error,
      key: letter.key,
      bytes: letter.value.length,
      eventId: claimed.id ?? null,
      claimedSource: claimed.source ?? null,
      claimedFrom: claimed.from,
    },
    ...(letter.headers['traceparent'] ? { traceparent: letter.headers['traceparent'] } : {}),
  };
}
