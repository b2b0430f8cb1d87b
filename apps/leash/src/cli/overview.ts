/**
 * `leash`, `leash help`: what the CLI does. A module of its own, importing
 * nothing, so bin/leash answers it before the CLI's heavy modules load.
 */
export const OVERVIEW = `leash: operate a running Leash (npm start, or the services alone) from any terminal.

Usage:
  leash kill    (--all | --tenant T | --agent A | --task ID) --reason "..." [--rollback]
  leash kill list
  leash resume  (--all | --tenant T | --agent A | --task ID) [--reason "..."]
  leash approvals list [--tenant T] [--limit N]
  leash approvals approve ID --reviewer R [--key-file F] [--comment "..."]
  leash approvals reject  ID --reviewer R [--key-file F] --feedback "..."
  leash approvals edit    ID --reviewer R [--key-file F] --args '{"field": "value"}' [--comment "..."]
  leash reviewers keygen --reviewer R [--key-file F]
  leash reviewers add --reviewer R --group G --public-key (PEM | BASE64 | @FILE) [--tenant T]
  leash reviewers invite R --group G [--tenant T]
  leash reviewers (list | remove | revoke-key) ...
  leash task submit --agent A --input "..." [--tenant T] [--scenario ID] [--watch]
  leash task watch ID [--timeout MS]
  leash audit TASK_ID [--json]
  leash runs search [--status S] [--since 7d] [--sort cost|latency|started] [--limit N] ...
  leash tenant time-zone TENANT ZONE [--by NAME]
  leash release (create --agent A --file F | list --agent A | show A@N | diff A@N1 A@N2)
  leash release promote A@N (--canary P | --full) [--force --reason "..."]
  leash release (rollback | status) --agent A [--move-running]
  leash policy (diff | publish) --agent A --file F.cedar
  leash mcp pin DIR [--by WHO]                           (an agent folder's MCP tools)
  leash review (sample | list | report) --agent A [--size N] / score RUN_ID --answer ID=VALUE ...
  leash replay (TASK_ID | --runs "FILTER") [--release N | --prompt F | --model M | --policy F] [--json]
  leash gate-keys --dir D [--public-dir P] [--gate G]     (before a deployment starts)
  leash topics provision
  leash help [kill | resume | approvals | task | audit | runs | tenant | reviewers | release | mcp | review | replay | deploy]

The CLI opens the same bus and store as the services: the same variables
(LEASH_BUS, LEASH_BUS_FILE, LEASH_STORE, LEASH_STORE_FILE, LEASH_TOPIC_PREFIX, ...)
with the same defaults. bin/leash runs from the repository root, as npm start
does, so relative paths mean the same files.

Exit codes: 0 done; 1 not acknowledged in time, or the command failed; 2 bad arguments or config.
`;
