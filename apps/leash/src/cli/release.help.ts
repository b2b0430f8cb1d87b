import { DEFAULT_TIMEOUT_MS } from './arguments';

/** `leash help release`: kept apart from the command so help loads none of its dependencies. */
export const RELEASE_HELP = `leash release create --agent A --file F [--by WHO]
leash release list --agent A
leash release show A@N
leash release diff A@N1 A@N2
leash release promote A@N --canary P | --full [--reason TEXT] [--force]
leash release rollback --agent A [--move-running] [--reason TEXT]
leash release status --agent A
leash policy diff --agent A --file F.cedar
leash policy publish --agent A --file F.cedar [--by WHO]

A release is one agent's prompt, model, tools, policy and caps, versioned
together and never changed once made. Its number is the agent version every
event of its tasks carries, so the audit and the traces name it.

create reads a release file (YAML or JSON): every field it leaves out is the
current release's. It checks the file (each problem named with its field and
line), the model (it must be priced in LEASH_MODEL_PRICES), the tools and
the Cedar policy, shows the diff against the current release, and makes the
release; it takes no traffic until promoted (an agent's first release does).

promote first runs the agent's golden tasks (npm run eval's) under the
release and under the current one, on temp engines in this process: a
release that passes fewer is not promoted unless --force --reason says why
(the reason is audited with the change). --canary P then sends P% of the
agent's new tasks to the release, chosen
by a stable hash of the task id (a task keeps its release for its whole
life); run it again with a larger P to widen it. --full makes it current.
While a canary runs, the planner compares it with the current release over
the same window (failure, policy denial and escalation rates, cost per task,
p95 duration) and rolls it back by itself when it is worse beyond the
release's thresholds; status shows the figures and why.

rollback stops a canary; with none, it makes the previous release current.
New tasks take it at once; running tasks finish on the release they started
with, unless --move-running moves them (from their next step). A kill stays
the way to stop them.

policy diff checks a Cedar file and shows its diff against the current
release's policy; policy publish makes a release that changes only that.

create, promote, rollback and policy publish sign their event with the
operators' key (LEASH_OPERATOR_SIGNING_KEY or _FILE; on the embedded engines
the one kept beside the store, .leash/gate-keys/operator.key, made once).
Every service applies only what a key of its LEASH_OPERATOR_PUBLIC_KEYS
verifies; anything else changes nothing.

Every command waits (--timeout, default ${DEFAULT_TIMEOUT_MS} ms) until the planner has
applied the change; exit 1 if it did not (is Leash running?), 2 on bad input.
Release file fields: description, model, prompt {text | file, id, version},
policy {cedar | file, id, description}, tools, caps, liftIrreversibleApproval,
loopThreshold, rateLimits, maxSteps, approvals {chain, ttlMs},
canary {minSample, failureRate, denialRate, escalationRate, costRatio,
p95LatencyRatio}, costGuard {alarmMultiple, stopMultiple, minSample, window},
fallbackModel {model, atBudgetFraction}.
`;
