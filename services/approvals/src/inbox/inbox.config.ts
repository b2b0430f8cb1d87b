import { z } from 'zod';
import { integer, url, variable, type DeepReadonly, type Requirement } from '@leash/config';

/*
 * The reviewers' web inbox (served beside the approvals service, on its
 * store and bus). Every variable is optional: the inbox starts only where
 * LEASH_INBOX_PORT is set (npm start sets it).
 */

/** Where a group's notifications go: a Slack-compatible incoming webhook, or any URL taking JSON. */
export const InboxWebhook = z.object({
  group: z.string().trim().min(1).max(100),
  url: z.url({ protocol: /^https?$/ }),
  /** `slack`: text plus blocks; `json`: the generic payload. Default: slack for hooks.slack.com, else json. */
  format: z.enum(['slack', 'json']).optional(),
  /** When present, only requests of these tenants. */
  tenants: z.array(z.string().min(1)).min(1).optional(),
});
export type InboxWebhook = z.infer<typeof InboxWebhook>;

const webhookList = z.string().transform((value, ctx): InboxWebhook[] => {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
    return z.NEVER;
  }
  const parsed = z.array(InboxWebhook).safeParse(raw);
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: z.prettifyError(parsed.error) });
    return z.NEVER;
  }
  return parsed.data;
});

const HEADER_NAME = /^[A-Za-z0-9-]{1,100}$/;

export const INBOX_VARIABLES = {
  LEASH_INBOX_PORT: variable(integer(0, 65_535).optional(), {
    description:
      "Port of the reviewers' web inbox; the inbox is served only when set (npm start sets 4180 unless given). 0 picks a free port.",
    expected: 'a port number from 0 to 65535',
  }),
  LEASH_INBOX_HOST: variable(z.string().trim().min(1).default('127.0.0.1'), {
    description: 'The address the inbox listens on (0.0.0.0 in a container, behind a proxy).',
    expected: 'a host name or IP address',
  }),
  LEASH_INBOX_PUBLIC_URL: variable(url(['http', 'https']).optional(), {
    description:
      'The address reviewers open (links in invites and notifications). Default: http://<host>:<port>. An https:// address makes the session cookie Secure.',
    expected: 'an http:// or https:// URL',
  }),
  LEASH_INBOX_SIGNING_KEY: variable(z.string().min(1).optional(), {
    description:
      "The inbox's Ed25519 private key (PKCS#8 PEM): it signs the verdicts of the reviewers it signed in, as a trusted front end (LEASH_REVIEWER_FRONT_ENDS holds its public half). npm start makes one beside the store.",
    expected: 'an Ed25519 private key, PKCS#8 PEM (secret)',
    secret: true,
  }),
  LEASH_INBOX_SIGNING_KEY_FILE: variable(z.string().trim().min(1).optional(), {
    description: 'A file holding that key (a mounted secret), instead of LEASH_INBOX_SIGNING_KEY.',
    expected: 'a file path',
  }),
  LEASH_INBOX_FRONT_END_NAME: variable(z.string().trim().min(1).max(200).default('web-inbox'), {
    description: "The inbox's name in LEASH_REVIEWER_FRONT_ENDS, which its proofs give.",
    expected: 'a name of up to 200 characters',
  }),
  LEASH_INBOX_AUTH: variable(z.enum(['invite', 'header']).default('invite'), {
    description:
      "How reviewers sign in: invite (a one-time link from leash reviewers invite) or header (a trusted proxy's identity header, LEASH_INBOX_IDENTITY_HEADER; the inbox must then be reachable only through that proxy).",
    expected: 'invite or header',
  }),
  LEASH_INBOX_IDENTITY_HEADER: variable(z.string().trim().regex(HEADER_NAME).optional(), {
    description:
      'With LEASH_INBOX_AUTH=header: the request header the proxy sets to the signed-in reviewer (e.g. X-Forwarded-Email).',
    expected: 'an HTTP header name',
  }),
  LEASH_INBOX_SESSION_TTL_MS: variable(integer(60_000, 30 * 86_400_000).default(43_200_000), {
    description: 'How long an inbox session lasts after sign-in.',
    expected: 'milliseconds from 60000 to 2592000000',
  }),
  LEASH_INBOX_INVITE_TTL_MS: variable(integer(60_000, 30 * 86_400_000).default(86_400_000), {
    description: 'How long an invite link can be used (once).',
    expected: 'milliseconds from 60000 to 2592000000',
  }),
  LEASH_INBOX_VERDICTS_PER_MINUTE: variable(integer(1, 10_000).default(30), {
    description:
      'Verdicts one reviewer may send from the inbox per minute; more are refused (429).',
    expected: 'a whole number from 1 to 10000',
  }),
  LEASH_INBOX_TRACE_URL: variable(z.string().trim().includes('{taskId}').optional(), {
    description:
      "A link to a task's trace, with {taskId} in it, e.g. a Jaeger search by the leash.task.id tag. Without it the request page names the task and the audit command.",
    expected: 'a URL template containing {taskId}',
  }),
  LEASH_INBOX_WEBHOOKS: variable(webhookList.optional(), {
    description:
      'Where each reviewer group is notified of a request, an escalation and a request about to expire: [{"group","url","format"?: "slack"|"json","tenants"?}].',
    expected: 'a JSON array of {group, url, format?, tenants?}',
  }),
  LEASH_INBOX_REMIND_BEFORE_MS: variable(integer(1_000, 86_400_000).default(600_000), {
    description: 'How long before a request expires its group is reminded (once).',
    expected: 'milliseconds from 1000 to 86400000',
  }),
};

export type InboxConfig = DeepReadonly<z.output<z.ZodObject<typeof INBOX_VARIABLES>>>;

export const INBOX_REQUIREMENTS: readonly Requirement[] = [
  {
    variable: 'LEASH_INBOX_IDENTITY_HEADER',
    when: { variable: 'LEASH_INBOX_AUTH', equals: 'header' },
  },
];
