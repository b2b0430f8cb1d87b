import { setTimeout as delay } from 'node:timers/promises';
import { AgentCatalog, REFERENCE_AGENT_SET, type ToolSource } from '@leash/agents';
import { LeashClient } from '@leash/client';
import type { Engines } from '@leash/engines';
import { createApprovalQueries, toPendingApproval } from '@leash/service-approvals/gate';
import type { ApprovalsDesk } from './approvals.command';

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
    async checkArguments(request, args) {
      // The same checks the policy gate makes first: the agent version's allowlist, then the
      // tool's zod parameters (the definitions the gate holds).
      const profile = await new AgentCatalog(engines.store).profile(
        request.agent.name,
        request.agent.version,
      );
      if (profile && !profile.tools.includes(request.tool)) {
        return `${request.tool} is not a tool of ${request.agent.name} v${request.agent.version}`;
      }
      const tool = tools.tool(request.tool);
      if (!tool) return `no definition of tool ${request.tool} is deployed`;
      const parsed = tool.parameters.safeParse(args);
      if (parsed.success) return undefined;
      return parsed.error.issues
        .slice(0, 20)
        .map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`)
        .join('; ');
    },
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
