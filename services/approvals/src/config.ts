import { AGENT_VARIABLES } from '@leash/agents';
import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import { APPROVALS_GATE_REQUIREMENTS, APPROVALS_GATE_VARIABLES } from './gate/approvals.config';
import { INBOX_REQUIREMENTS, INBOX_VARIABLES } from './inbox/inbox.config';
import type { ServiceName } from '@leash/contracts';

export const APPROVALS = 'approvals' satisfies ServiceName;

/** The approvals service's environment: the base variables, the approval gate's and the inbox's. */
export const APPROVALS_ENV = extendEnv(
  BASE_ENV,
  { ...APPROVALS_GATE_VARIABLES, ...INBOX_VARIABLES, ...AGENT_VARIABLES },
  [...APPROVALS_GATE_REQUIREMENTS, ...INBOX_REQUIREMENTS],
);

export type ApprovalsConfig = ConfigOf<typeof APPROVALS_ENV>;
