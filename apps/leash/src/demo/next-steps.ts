/** What to try first when the demo is off: a task, the reviewers' inbox, the audit. */
export const NEXT_STEPS: readonly string[] = [
  'Try next, from another terminal:',
  '  bin/leash task submit --agent it-helpdesk --input "My laptop cannot join the office wifi" --watch',
  '  bin/leash approvals list',
  "  bin/leash reviewers invite you@example.com --group support-leads   # a sign-in link to the reviewers' inbox",
  '  bin/leash audit <task-id>',
];
