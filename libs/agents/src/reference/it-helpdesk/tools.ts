import { z } from 'zod';
import { defineTool } from '../../tool-definition';

const Email = z.email().max(254);

export const searchKb = defineTool({
  name: 'search_kb',
  version: 1,
  description:
    'Search the IT knowledge base for articles that answer a question. Use it first, before opening a ticket or changing anything.',
  parameters: z.object({
    query: z.string().min(2).max(500).describe('What to look for, in plain words.'),
    limit: z.number().int().min(1).max(20).default(5).describe('How many articles to return.'),
  }),
  riskClass: 'read',
  actionClass: 'kb_search',
  tags: ['internal'],
  idempotent: true,
  timeoutMs: 5_000,
});

export const openTicket = defineTool({
  name: 'open_ticket',
  version: 1,
  description:
    'Open a helpdesk ticket for a problem the knowledge base does not solve. One ticket per problem; the ticket id is returned.',
  parameters: z.object({
    requester: Email.describe('Email address of the person who asked for help.'),
    subject: z.string().min(3).max(200).describe('A one-line summary of the problem.'),
    description: z
      .string()
      .min(1)
      .max(5_000)
      .describe('What happened, what was tried, and any error message, as the user reported it.'),
    priority: z
      .enum(['low', 'normal', 'high', 'urgent'])
      .default('normal')
      .describe('urgent only when work is blocked for many people.'),
  }),
  riskClass: 'write',
  actionClass: 'ticket',
  tags: ['internal'],
  identities: { requester: 'email' },
  idempotent: false,
  timeoutMs: 10_000,
});

export const resetPassword = defineTool({
  name: 'reset_password',
  version: 1,
  description:
    "Reset a user's password and send them a one-time link. The old password stops working at once, so the user confirms first; do not propose it for someone other than the requester.",
  parameters: z.object({
    userEmail: Email.describe('The account whose password is reset.'),
    reason: z.string().min(3).max(500).describe('Why the reset is needed, as the user said it.'),
  }),
  riskClass: 'irreversible',
  actionClass: 'password_reset',
  tags: ['account'],
  identities: { userEmail: 'email' },
  idempotent: false,
  timeoutMs: 15_000,
  // A reset is not retried on its own: a second link would invalidate the first.
  retry: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
});

export const installSoftware = defineTool({
  name: 'install_software',
  version: 1,
  description:
    "Install an approved application on a user's managed device. Only packages on the approved software list can be installed, and IT approves each install.",
  parameters: z.object({
    package: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.+-]{0,63}$/)
      .describe('The package name from the approved software list, e.g. "slack" or "zoom".'),
    deviceId: z
      .string()
      .min(1)
      .max(100)
      .describe('The managed device, from the ticket or the user.'),
    requester: Email.describe('Who asked for the software.'),
  }),
  riskClass: 'write',
  actionClass: 'software_install',
  tags: ['device'],
  identities: { deviceId: 'id', requester: 'email' },
  idempotent: true,
  compensation: {
    tool: 'uninstall_software',
    arguments: (original) => ({
      package: original['package'],
      deviceId: original['deviceId'],
      requester: original['requester'],
    }),
  },
  timeoutMs: 120_000,
});

export const uninstallSoftware = defineTool({
  name: 'uninstall_software',
  version: 1,
  description:
    "Remove an application from a user's managed device, e.g. to undo an install. IT approves each removal.",
  parameters: z.object({
    package: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.+-]{0,63}$/)
      .describe('The installed package name.'),
    deviceId: z.string().min(1).max(100).describe('The managed device.'),
    requester: Email.describe('Who asked for the removal.'),
  }),
  riskClass: 'write',
  actionClass: 'software_install',
  tags: ['device'],
  identities: { deviceId: 'id', requester: 'email' },
  idempotent: true,
  timeoutMs: 120_000,
});

export const IT_HELPDESK_TOOLS = [
  searchKb,
  openTicket,
  resetPassword,
  installSoftware,
  uninstallSoftware,
] as const;
