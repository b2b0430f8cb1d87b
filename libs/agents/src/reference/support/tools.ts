import { z } from 'zod';
import { defineTool } from '../../tool-definition';

const Email = z.email().max(254);

export const lookupCustomer = defineTool({
  name: 'lookup_customer',
  version: 1,
  description:
    'Find a customer by email address or customer id, with their recent orders and refunds. Use it before answering anything about an order.',
  parameters: z.object({
    customer: z
      .string()
      .min(1)
      .max(254)
      .describe('The email address or customer id (e.g. "C-1042").'),
  }),
  riskClass: 'read',
  actionClass: 'customer_read',
  tags: ['internal'],
  identities: { customer: 'id' },
  idempotent: true,
  timeoutMs: 5_000,
});

const EmailMessage = z.object({
  to: z
    .array(Email)
    .min(1)
    .max(10)
    .describe('Recipients; only customer domains the tenant allows.'),
  cc: z.array(Email).max(10).default([]).describe('Copied recipients, under the same rule.'),
  subject: z.string().min(1).max(200).describe('The subject line.'),
  body: z.string().min(1).max(20_000).describe('Plain text, written to the customer.'),
  inReplyTo: z.string().max(200).optional().describe('The message id this answers, if any.'),
});

export const draftEmail = defineTool({
  name: 'draft_email',
  version: 1,
  description:
    'Save an email as a draft for a support agent to review. Nothing is sent. Returns the draft id.',
  parameters: EmailMessage,
  riskClass: 'write',
  actionClass: 'email_draft',
  tags: ['internal', 'email'],
  identities: { to: 'email', cc: 'email' },
  idempotent: true,
  timeoutMs: 5_000,
});

export const sendEmail = defineTool({
  name: 'send_email',
  version: 1,
  description:
    'Send an email to a customer. Recipients must be on allowed customer domains. Sent mail cannot be recalled: check the draft first.',
  parameters: EmailMessage,
  riskClass: 'irreversible',
  actionClass: 'email',
  tags: ['email', 'external'],
  identities: { to: 'email', cc: 'email' },
  idempotent: false,
  timeoutMs: 15_000,
});

export const issueRefund = defineTool({
  name: 'issue_refund',
  version: 1,
  description:
    'Refund an order, in full or in part, to the original payment method. Refunds over $100 wait for a person. Returns the refund id.',
  parameters: z.object({
    orderId: z.string().min(1).max(64).describe('The order, from lookup_customer.'),
    amountUsd: z
      .number()
      .positive()
      .max(100_000)
      .describe('The refund in US dollars; at most what was paid.'),
    reason: z
      .enum(['damaged', 'not_received', 'wrong_item', 'late', 'goodwill', 'other'])
      .describe('The category of the complaint.'),
    note: z.string().max(1_000).default('').describe('A short note for the finance team.'),
  }),
  riskClass: 'write',
  actionClass: 'refund',
  tags: ['money', 'external'],
  idempotent: false,
  amountField: 'amountUsd',
  timeoutMs: 20_000,
});

export const escalateToHuman = defineTool({
  name: 'escalate_to_human',
  version: 1,
  description:
    'Hand the conversation to a human support agent when you cannot help, the customer asks for a person, or a rule stops you.',
  parameters: z.object({
    summary: z.string().min(3).max(2_000).describe('What the customer wants and what was done.'),
    urgency: z
      .enum(['low', 'normal', 'high'])
      .default('normal')
      .describe('How soon a person should look.'),
  }),
  riskClass: 'write',
  actionClass: 'escalation',
  tags: ['internal'],
  idempotent: true,
  timeoutMs: 5_000,
});

export const SUPPORT_TOOLS = [
  lookupCustomer,
  draftEmail,
  sendEmail,
  issueRefund,
  escalateToHuman,
] as const;
