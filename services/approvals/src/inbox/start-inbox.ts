import { agentSetFromConfig } from '@leash/agents';
import type { Bus, Subscription } from '@leash/bus';
import { ConfigError } from '@leash/config';
import type { TopicName } from '@leash/contracts';
import type { Store } from '@leash/store';
import { leashLogger } from '@leash/telemetry';
import type { ApprovalsConfig } from '../config';
import { toPendingApproval } from '../list-pending-approvals/list-pending-approvals.usecase';
import { InboxDesk, inboxTaskInputs, taskInputId, toQueueItem, type QueueItem } from './inbox-desk';
import { WebhookNotifier, type InboxLog, type NotificationKind } from './inbox-notifications';
import { startInboxServer } from './inbox-server';
import { inboxSigningKey } from './inbox-key';

/*
 * The reviewers' web inbox, beside the approvals service: on its store (the
 * queue, the directory, the verdicts' records) and its bus (verdicts out on
 * approvals.decided, signed by the inbox as a trusted front end).
 */

/** Every change that can move a reviewer's queue: new, answered, expired, escalated, cancelled. */
const LIVE_TOPICS: readonly TopicName[] = [
  'approvals.requested',
  'approvals.verdicts',
  'actions.rejected',
  'actions.authorized',
  'tasks.finished',
];

export interface RunningInbox {
  /** Where reviewers open it. */
  readonly url: string;
  readonly desk: InboxDesk;
  /** The link a request's page has (notifications carry it). */
  requestUrl(approvalId: string): string;
  close(): Promise<void>;
}

export interface StartInboxOptions {
  readonly bus: Bus;
  readonly store: Store;
  readonly config: ApprovalsConfig;
  readonly log?: InboxLog;
  /** Webhook retries: the first delay, doubled each time. */
  readonly webhookBackoffMs?: number;
  /** The clock expiry is judged by (tests); default the system's. */
  readonly now?: () => number;
}

export async function startInbox(options: StartInboxOptions): Promise<RunningInbox> {
  const { config, bus, store } = options;
  if (config.LEASH_INBOX_PORT === undefined) {
    throw new ConfigError('approvals', [
      { variable: 'LEASH_INBOX_PORT', message: 'LEASH_INBOX_PORT is required to serve the inbox' },
    ]);
  }
  const key = inboxSigningKey(config);
  const log = options.log ?? leashLogger({ service: 'approvals', level: config.LOG_LEVEL });
  const desk = new InboxDesk({
    store,
    bus,
    key,
    tools: agentSetFromConfig(config).tools,
    verdictsPerMinute: config.LEASH_INBOX_VERDICTS_PER_MINUTE,
    ...(options.now ? { now: options.now } : {}),
    ...(config.LEASH_INBOX_TRACE_URL !== undefined
      ? { traceUrl: config.LEASH_INBOX_TRACE_URL }
      : {}),
  });
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const subscriptions: Subscription[] = [];
  const notifier = new WebhookNotifier({
    hooks: config.LEASH_INBOX_WEBHOOKS ?? [],
    logger: log,
    ...(options.webhookBackoffMs !== undefined ? { backoffMs: options.webhookBackoffMs } : {}),
  });
  const server = await startInboxServer({
    store,
    desk,
    host: config.LEASH_INBOX_HOST,
    port: config.LEASH_INBOX_PORT,
    ...(config.LEASH_INBOX_PUBLIC_URL !== undefined
      ? { publicUrl: config.LEASH_INBOX_PUBLIC_URL }
      : {}),
    auth: config.LEASH_INBOX_AUTH,
    ...(config.LEASH_INBOX_IDENTITY_HEADER !== undefined
      ? { identityHeader: config.LEASH_INBOX_IDENTITY_HEADER }
      : {}),
    sessionTtlMs: config.LEASH_INBOX_SESSION_TTL_MS,
    ...(options.now ? { now: options.now } : {}),
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  const requestUrl = (approvalId: string) =>
    `${server.url}/requests/${encodeURIComponent(approvalId)}`;
  const notify = (kind: NotificationKind, item: QueueItem) =>
    notifier.notify({ kind, item, url: requestUrl(item.approvalId) });
  let sweeper: NodeJS.Timeout | undefined;
  try {
    // Per instance, from now on: every instance's pages hear every change.
    subscriptions.push(
      await bus.subscribe(
        `approvals-inbox.live.${config.LEASH_INSTANCE_ID}`,
        LIVE_TOPICS,
        async () => changed(),
        { fromBeginning: false, processSpans: false },
      ),
    );
    // Shared by the instances, durable: each task's input once, each request notified once.
    subscriptions.push(
      await bus.subscribe(
        'approvals-inbox',
        ['tasks.requested', 'approvals.requested'],
        async (delivery) => {
          const event = delivery.event;
          if (event.type === 'leash.tasks.requested.v1' && event.tenantId && event.taskId) {
            await store.repository(inboxTaskInputs).upsert({
              id: taskInputId(event.tenantId, event.taskId),
              tenantId: event.tenantId,
              taskId: event.taskId,
              agent: event.data.agent,
              input: event.data.input,
              requestedAt: event.time,
            });
          }
          if (event.type === 'leash.approvals.requested.v1') {
            const request = await desk.queries.request(event.data.approvalId);
            if (request?.status === 'pending') {
              notify(
                request.stage > 0 ? 'escalated' : 'requested',
                toQueueItem(toPendingApproval(request)),
              );
            }
          }
        },
      ),
    );
  } catch (error) {
    await Promise.allSettled(subscriptions.map((s) => s.close()));
    await server.close();
    throw error;
  }
  // Reminders: once per request and process, when it enters the last stretch before expiry.
  if ((config.LEASH_INBOX_WEBHOOKS ?? []).length > 0) {
    const reminded = new Set<string>();
    const window = config.LEASH_INBOX_REMIND_BEFORE_MS;
    sweeper = setInterval(
      () => {
        void desk.queries.listPendingApprovals
          .execute({ limit: 1_000 })
          .then((pending) => {
            for (const request of pending) {
              const left = Date.parse(request.expiresAt) - (options.now ?? Date.now)();
              if (left > window || left <= 0 || reminded.has(request.approvalId)) continue;
              reminded.add(request.approvalId);
              notify('expiring', toQueueItem(request));
            }
          })
          .catch((error: unknown) =>
            log.warn({ error: String(error) }, 'inbox: the reminder sweep failed'),
          );
      },
      Math.max(250, Math.min(30_000, Math.floor(window / 4))),
    );
    sweeper.unref();
  }
  return {
    url: server.url,
    desk,
    requestUrl,
    async close() {
      if (sweeper) clearInterval(sweeper);
      await Promise.allSettled(subscriptions.map((s) => s.close()));
      await server.close();
      await notifier.close();
    },
  };
}
