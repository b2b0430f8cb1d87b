import type { HelpTopic } from './arguments';
import { OVERVIEW } from './overview';
import { AUDIT_HELP } from './audit.command';
import { DEPLOY_HELP } from './deployment.command';
import { MCP_HELP } from './mcp.command';
import { REPLAY_HELP } from './replay.help';
import { REVIEW_HELP } from './review.command';
import { RELEASE_HELP } from './release.help';
import { REVIEWERS_HELP } from './reviewers.command';
import { RUNS_HELP } from './runs.command';
import { TASK_HELP } from './task.command';
import { TENANT_HELP } from './tenant.command';

const KILL = `leash kill (--all | --tenant T | --agent A | --task ID) --reason "..." [options]

Publishes a kill on the control topic and waits until every service
(planner, policy, budget, approvals, executor) acknowledges it, printing
each acknowledgement and its time. In scope, every service then refuses new
tool and model calls and aborts the ones in flight. The kill is persisted:
a restart does not resume killed work. Only \`leash resume\` lifts it.
\`leash kill list\` prints the kills in force: scope, reason, who, when, and
the command that lifts each.

Options:
  --all | --tenant T | --agent A | --task ID   the scope: exactly one
  --reason "..."     why; recorded with the kill (required)
  --rollback         also undo the completed write actions (those with a
                     compensation) of every task in scope, newest first
  --by NAME          who issues it (default: user@host)
  --timeout MS       how long to wait for the acknowledgements (default 10000)
`;

const RESUME = `leash resume (--all | --tenant T | --agent A | --task ID) [options]

Lifts the kills issued with exactly this scope (--all lifts every kill), and
waits for every service to acknowledge, as kill does.

Options:
  --all | --tenant T | --agent A | --task ID   the scope: exactly one
  --reason "..."     why (default: "resumed from the leash CLI")
  --by NAME          who issues it (default: user@host)
  --timeout MS       how long to wait for the acknowledgements (default 10000)
`;

const APPROVALS = `leash approvals list [--tenant T] [--limit N]
leash approvals approve ID --reviewer R [--key-file F] [--comment "..."]
leash approvals reject  ID --reviewer R [--key-file F] --feedback "..."
leash approvals edit    ID --reviewer R [--key-file F] --args '{"field": "value"}' [--comment "..."]

list shows the requests waiting for reviewers (soonest expiry first) with
the agent, task, tool, arguments, risk, reserved cost, expiry, the arguments
whose values came from untrusted text (TAINTED: the policy gate's signed
finding), the policy rules that sent each to a human with their reasons, the
planner's reason,
and the command that answers each. A verdict is published on approvals.decided,
bound to the request's action hash and signed with the reviewer's private
key: --key-file F, by default R.key in the keys dir (LEASH_REVIEWER_KEYS_DIR;
reviewer-keys beside LEASH_STORE_FILE, where npm start keeps the demo
reviewers' keys; ~/.leash/reviewer-keys when the store is not SQLite).
Without it the command stops and names the file and leash reviewers keygen.
The approvals service checks the signature against the reviewer's keys in
the directory (leash help reviewers), and that the reviewer may decide it.
reject's feedback reaches the planner. edit merges the fields given in --args
into the proposed arguments (the others stay as proposed), checks the result
against the tool's parameters (a mismatch exits 2 and publishes nothing),
signs the merged arguments and proposes them again through policy and budget.
`;

export function helpText(topic?: HelpTopic): string {
  switch (topic) {
    case 'kill':
      return KILL;
    case 'resume':
      return RESUME;
    case 'approvals':
      return APPROVALS;
    case 'task':
      return TASK_HELP;
    case 'audit':
      return AUDIT_HELP;
    case 'runs':
      return RUNS_HELP;
    case 'tenant':
      return TENANT_HELP;
    case 'reviewers':
      return REVIEWERS_HELP;
    case 'deploy':
      return DEPLOY_HELP;
    case 'release':
      return RELEASE_HELP;
    case 'mcp':
      return MCP_HELP;
    case 'review':
      return REVIEW_HELP;
    case 'replay':
      return REPLAY_HELP;
    default:
      return OVERVIEW;
  }
}
