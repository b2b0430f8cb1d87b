import { leashMetrics } from '@leash/telemetry';
import type { DeepReadonly } from '@leash/config';
import type { InboxWebhook as WebhookInput } from './inbox.config';

type InboxWebhook = DeepReadonly<WebhookInput>;
import type { QueueItem } from './inbox-desk';

/*
 * Notifications where reviewers already are: each reviewer group's webhook
 * hears of a request, an escalation and a request about to expire, with a
 * link to its page. Delivery is in the background, retried with backoff;
 * nothing here is awaited by the gate, and a failure is a metric and a log
 * line, never an error anywhere else.
 */

/** Where failures are written: the process's logger (pino's signature). */
export interface InboxLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export type NotificationKind = 'requested' | 'escalated' | 'expiring';

export interface Notification {
  readonly kind: NotificationKind;
  readonly item: QueueItem;
  /** The request's page. */
  readonly url: string;
}

const HEADLINE: Record<NotificationKind, string> = {
  requested: 'Approval requested',
  escalated: 'Approval escalated to your group',
  expiring: 'Approval about to expire',
};

function summary(item: QueueItem): string {
  const amount = item.amountUsd !== undefined ? ` $${item.amountUsd.toFixed(2)}` : '';
  return (
    `${item.agent.name} wants to run ${item.tool}${amount} (${item.riskClass}) ` +
    `in tenant ${item.tenantId}; ${item.approvals} of ${item.reviewersRequired} approvals; ` +
    `expires ${item.expiresAt}${item.tainted ? '; arguments from untrusted text' : ''}`
  );
}

/** Slack's mrkdwn treats these three as markup; an agent's text must not become a link. */
function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack-compatible incoming-webhook payload: text (the fallback) plus blocks. */
export function slackPayload(notification: Notification): Record<string, unknown> {
  const { kind, item, url } = notification;
  const text = `${HEADLINE[kind]}: ${summary(item)}`;
  return {
    text: `${mrkdwn(text)} <${url}|Open>`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: HEADLINE[kind] } },
      { type: 'section', text: { type: 'mrkdwn', text: mrkdwn(summary(item)) } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: mrkdwn(`group ${item.reviewerGroup} · task ${item.taskId} · ${item.approvalId}`),
          },
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Open in the inbox' },
            url,
            style: 'primary',
          },
        ],
      },
    ],
  };
}

/** The generic payload, for anything that is not Slack. */
export function jsonPayload(notification: Notification): Record<string, unknown> {
  const { kind, item, url } = notification;
  return { event: `approval.${kind}`, summary: summary(item), url, request: item };
}

export function formatOf(hook: InboxWebhook): 'slack' | 'json' {
  return hook.format ?? (new URL(hook.url).hostname === 'hooks.slack.com' ? 'slack' : 'json');
}

export interface WebhookNotifierOptions {
  readonly hooks: readonly InboxWebhook[];
  readonly logger: InboxLog;
  /** Attempts per notification. Default 5. */
  readonly attempts?: number;
  /** The first retry's delay; each next one doubles. Default 1000 ms. */
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

export class WebhookNotifier {
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: WebhookNotifierOptions) {}

  /** Sends to every hook of the item's group, in the background. Never throws, never waits. */
  notify(notification: Notification): void {
    if (this.closed) return;
    for (const hook of this.options.hooks) {
      if (hook.group !== notification.item.reviewerGroup) continue;
      if (hook.tenants !== undefined && !hook.tenants.includes(notification.item.tenantId))
        continue;
      const delivery = this.deliver(hook, notification).finally(() =>
        this.pending.delete(delivery),
      );
      this.pending.add(delivery);
    }
  }

  /** Resolves once every delivery so far has ended, delivered or failed (retries included). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops retrying; waits for deliveries in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
  }

  private async deliver(hook: InboxWebhook, notification: Notification): Promise<void> {
    const format = formatOf(hook);
    const body = JSON.stringify(
      format === 'slack' ? slackPayload(notification) : jsonPayload(notification),
    );
    const attempts = this.options.attempts ?? 5;
    const metric = leashMetrics().inboxNotifications;
    const labels = { group: hook.group, kind: notification.kind };
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
        });
        if (response.ok) {
          metric.inc({ ...labels, outcome: 'delivered' });
          return;
        }
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      metric.inc({ ...labels, outcome: 'retried' });
      if (attempt === attempts || this.closed) break;
      const delay = (this.options.backoffMs ?? 1_000) * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    metric.inc({ ...labels, outcome: 'failed' });
    this.options.logger.warn(
      {
        group: hook.group,
        kind: notification.kind,
        approvalId: notification.item.approvalId,
        error: last,
      },
      `inbox: the webhook of group ${hook.group} failed after ${attempts} attempts: ${last}`,
    );
  }
}
