import { setTimeout as delay } from 'node:timers/promises';
import { REFERENCE_AGENT_SET, type ToolSource } from '@leash/agents';
import { LeashClient } from '@leash/client';
import type { Engines } from '@leash/engines';
import {
  checkEditedArguments,
  createApprovalQueries,
  toPendingApproval,
} from '@leash/service-approvals/gate';
import type { ApprovalsDesk } from './approvals.command';
import { existsSync, readFileSync } from 'node:fs';
import { defineEnv, loadConfig, type Environment } from '@leash/config';
import { INBOX_VARIABLES, createInvite } from '@leash/service-approvals/inbox';
import { DEFAULT_INBOX_PORT, inboxAddressFile } from '../inbox-address';
import type { InviteDesk } from './reviewers.command';

/** How often the verdict's record is looked for: a person is waiting, the store is local. */
const POLL_MS = 50;

/**
 * The approvals desk over the engines: the approvals service's read side
 * on the store, and verdicts through the client SDK on approvals.decided,
 * bound to the request's action hash and signed with the reviewer's key (the
 * service checks the proof, the reviewer and the hash, and records why it
 * refuses).
 */
export function openApprovalsDesk(
  engines: Engines,
  tools: ToolSource = REFERENCE_AGENT_SET.tools,
): ApprovalsDesk {
  const queries = createApprovalQueries(engines.store);
  const client = new LeashClient({ bus: engines.bus, source: 'leash-cli' });
  return {
    listPending: (query) => queries.listPendingApprovals.execute(query),
    async lookup(approvalId) {
      const request = await queries.request(approvalId);
      if (!request) return { refusal: `no approval request ${approvalId}` };
      if (request.status !== 'pending') {
        return { refusal: `approval request ${approvalId} is ${request.status}, not pending` };
      }
      if (Date.parse(request.expiresAt) <= Date.now()) {
        return { refusal: `approval request ${approvalId} expired at ${request.expiresAt}` };
      }
      return toPendingApproval(request);
    },
    async decide(request, reviewer, verdict, key) {
      const event = await client.decide(request, reviewer, verdict, { key });
      return event.id;
    },
    checkArguments: (request, args) => checkEditedArguments(engines.store, tools, request, args),
    async outcome(verdictId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const record = await queries.verdict(verdictId);
        if (record) return { accepted: record.outcome === 'accepted', reason: record.reason };
        if (Date.now() >= deadline) return undefined;
        await delay(POLL_MS);
      }
    },
  };
}

/** The approvals service's reviewer directory, in the store the engines opened. */
export function reviewerDirectoryOf(engines: Engines) {
  return createApprovalQueries(engines.store).directory;
}

/** Invites to the reviewers' inbox, kept (as hashes) in the approvals service's store. */
export function openInviteDesk(engines: Engines, env: Environment): InviteDesk {
  const config = loadConfig(defineEnv(INBOX_VARIABLES), { env, subject: 'leash' });
  const file = inboxAddressFile(env);
  const written = file !== undefined && existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  const inboxUrl = (
    config.LEASH_INBOX_PUBLIC_URL ??
    (written || `http://127.0.0.1:${DEFAULT_INBOX_PORT}`)
  ).replace(/\/$/, '');
  return {
    directory: reviewerDirectoryOf(engines),
    inboxUrl,
    createInvite: (tenantId, reviewer) =>
      createInvite(engines.store, { tenantId, reviewer, ttlMs: config.LEASH_INBOX_INVITE_TTL_MS }),
  };
}
