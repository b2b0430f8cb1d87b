import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/*
 * Leash's Prometheus series. One registry per process: the all-in-one
 * launcher's five services share it and tell themselves apart by labels
 * (gate, group, service). Series names never change once shipped.
 *
 * Values read from the store (approvals waiting, consumer lag) are computed
 * at scrape time by sources registered while a service runs.
 */

export interface LagEntry {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

export interface ApprovalsWaiting {
  readonly count: number;
  /** Seconds the oldest pending request has waited; 0 when none waits. */
  readonly oldestAgeSeconds: number;
}

/** One tenant's budget today, as the budget service's ledger has it. */
export interface TenantBudget {
  readonly tenant: string;
  /** Settled spend today, in US dollars. */
  readonly spendUsd: number;
  /** Used fraction (reserved plus settled over the limit) of each daily cap with a limit. */
  readonly capsUsed: Readonly<Record<string, number>>;
}

type Source<T> = () => Promise<T>;

export interface LeashMetrics {
  readonly registry: Registry;
  readonly actions: Counter<'gate' | 'route' | 'decision'>;
  readonly gateDuration: Histogram<'gate' | 'operation'>;
  readonly approvalsWaiting: Gauge;
  readonly approvalsOldestWait: Gauge;
  readonly tenantSpend: Gauge<'tenant'>;
  readonly capUsed: Gauge<'tenant' | 'cap'>;
  readonly kills: Counter<'service'>;
  readonly killAcks: Counter<'service' | 'command'>;
  readonly deadLetters: Counter<'topic' | 'group'>;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly published: Counter<'topic'>;
  readonly processed: Counter<'topic' | 'group' | 'outcome'>;
  readonly processDuration: Histogram<'topic' | 'group'>;
  /** Tool calls the executor is running now, by tool. */
  readonly toolCallsInFlight: Gauge<'tool'>;
  /** How long each tool run took (retries included), by tool and outcome. */
  readonly toolCallDuration: Histogram<'tool' | 'status'>;
  /** Tasks finished, by agent and status (counted by the audit recorder, once per task). */
  readonly tasksFinished: Counter<'agent' | 'status'>;
  /** Model tokens used, by agent, model and type (input, output). */
  readonly modelTokens: Counter<'agent' | 'model' | 'type'>;
  /** Model cost settled, in US dollars, by agent and model. */
  readonly modelCost: Counter<'agent' | 'model'>;
  /** The reviewers' inbox's webhook deliveries, by group, kind and outcome (delivered, retried, failed). */
  readonly inboxNotifications: Counter<'group' | 'kind' | 'outcome'>;
  /** Registers a lag source (a bus); returns the unregister. */
  addLagSource(source: Source<readonly LagEntry[]>): () => void;
  /** Registers an approvals source (the approvals service's store); returns the unregister. */
  addApprovalsSource(source: Source<ApprovalsWaiting>): () => void;
  /** Registers a tenant budget source (the budget service's ledger), read at scrape; returns the unregister. */
  addTenantBudgetSource(source: Source<readonly TenantBudget[]>): () => void;
}

// Gate decisions take milliseconds; an approval wait is not a gate latency.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let current: LeashMetrics | undefined;

/** The process's metrics, created on first use. */
export function leashMetrics(): LeashMetrics {
  current ??= createMetrics(new Registry());
  return current;
}

/** Swaps in a fresh registry: for tests that count from zero. */
export function resetLeashMetrics(): LeashMetrics {
  current = createMetrics(new Registry());
  return current;
}

/** `read`, shared by every gauge that asks during one scrape (the gauges collect in one turn). */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let reading: Promise<T> | undefined;
  return () => {
    reading ??= read().finally(() => setImmediate(() => (reading = undefined)));
    return reading;
  };
}

function createMetrics(registry: Registry): LeashMetrics {
  const lagSources = new Set<Source<readonly LagEntry[]>>();
  const approvalSources = new Set<Source<ApprovalsWaiting>>();
  const budgetSources = new Set<Source<readonly TenantBudget[]>>();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'leash_process_' });

  const consumerLag = new Gauge({
    name: 'leash_consumer_lag',
    help: 'Records not yet committed by a consumer group, per topic and partition.',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers,
    async collect() {
      this.reset();
      for (const source of lagSources) {
        for (const entry of await source().catch(() => [])) {
          this.set(
            { group: entry.group, topic: entry.topic, partition: String(entry.partition) },
            entry.lag,
          );
        }
      }
    },
  });

  // One read serves both approval gauges in a scrape.
  const readApprovals = oncePerScrape(async (): Promise<ApprovalsWaiting | undefined> => {
    if (approvalSources.size === 0) return undefined;
    let count = 0;
    let oldestAgeSeconds = 0;
    for (const source of approvalSources) {
      const waiting = await source().catch(() => undefined);
      if (!waiting) continue;
      count += waiting.count;
      oldestAgeSeconds = Math.max(oldestAgeSeconds, waiting.oldestAgeSeconds);
    }
    return { count, oldestAgeSeconds };
  });

  // One read serves both tenant budget gauges in a scrape.
  const readBudgets = oncePerScrape(async (): Promise<readonly TenantBudget[]> => {
    const budgets: TenantBudget[] = [];
    for (const source of budgetSources) budgets.push(...(await source().catch(() => [])));
    return budgets;
  });

  return {
    registry,
    actions: new Counter({
      name: 'leash_actions_total',
      help: 'Gate outcomes of actions, by gate, route and decision.',
      labelNames: ['gate', 'route', 'decision'] as const,
      registers,
    }),
    gateDuration: new Histogram({
      name: 'leash_gate_duration_seconds',
      help: 'Time a gate took to handle one event, by gate and operation.',
      labelNames: ['gate', 'operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    approvalsWaiting: new Gauge({
      name: 'leash_approvals_waiting',
      help: 'Approval requests waiting for reviewers.',
      registers,
      async collect() {
        const waiting = await readApprovals();
        if (waiting) this.set(waiting.count);
      },
    }),
    approvalsOldestWait: new Gauge({
      name: 'leash_approvals_oldest_wait_seconds',
      help: 'Age of the oldest approval request still waiting.',
      registers,
      async collect() {
        const waiting = await readApprovals();
        if (waiting) this.set(waiting.oldestAgeSeconds);
      },
    }),
    tenantSpend: new Gauge({
      name: 'leash_tenant_spend_usd',
      help: "A tenant's settled spend today, in US dollars.",
      labelNames: ['tenant'] as const,
      registers,
      async collect() {
        const budgets = await readBudgets();
        if (budgetSources.size > 0) this.reset();
        for (const budget of budgets) this.set({ tenant: budget.tenant }, budget.spendUsd);
      },
    }),
    capUsed: new Gauge({
      name: 'leash_budget_cap_used_ratio',
      help: "A tenant's used fraction of each daily cap (reserved plus settled over the limit).",
      labelNames: ['tenant', 'cap'] as const,
      registers,
      async collect() {
        const budgets = await readBudgets();
        if (budgetSources.size > 0) this.reset();
        for (const budget of budgets) {
          for (const [cap, used] of Object.entries(budget.capsUsed)) {
            this.set({ tenant: budget.tenant, cap }, used);
          }
        }
      },
    }),
    kills: new Counter({
      name: 'leash_kills_total',
      help: 'Kill commands applied, by service.',
      labelNames: ['service'] as const,
      registers,
    }),
    killAcks: new Counter({
      name: 'leash_kill_acks_total',
      help: 'Acknowledgements of kill and resume commands sent, by service and command.',
      labelNames: ['service', 'command'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'leash_dead_letters_total',
      help: 'Records sent to a dead-letter topic, by original topic and consumer group.',
      labelNames: ['topic', 'group'] as const,
      registers,
    }),
    consumerLag,
    published: new Counter({
      name: 'leash_messages_published_total',
      help: 'Events published, by topic.',
      labelNames: ['topic'] as const,
      registers,
    }),
    processed: new Counter({
      name: 'leash_messages_processed_total',
      help: 'Events handled, by topic, consumer group and outcome (ok, dead_letter, retry).',
      labelNames: ['topic', 'group', 'outcome'] as const,
      registers,
    }),
    processDuration: new Histogram({
      name: 'leash_message_process_duration_seconds',
      help: 'Time a consumer group took to handle one event, retries included.',
      labelNames: ['topic', 'group'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    toolCallsInFlight: new Gauge({
      name: 'leash_tool_calls_in_flight',
      help: 'Tool calls the executor is running now, by tool.',
      labelNames: ['tool'] as const,
      registers,
    }),
    toolCallDuration: new Histogram({
      name: 'leash_tool_call_duration_seconds',
      help: 'Time a tool run took, retries included, by tool and outcome (succeeded, or the error kind).',
      labelNames: ['tool', 'status'] as const,
      buckets: [...LATENCY_BUCKETS, 30, 60],
      registers,
    }),
    tasksFinished: new Counter({
      name: 'leash_tasks_finished_total',
      help: 'Tasks finished, by agent and status (succeeded, failed, rejected, escalated, killed, limit_exceeded, ...).',
      labelNames: ['agent', 'status'] as const,
      registers,
    }),
    modelTokens: new Counter({
      name: 'leash_model_tokens_total',
      help: 'Model tokens used, by agent, model and type (input or output, as gen_ai.token.type).',
      labelNames: ['agent', 'model', 'type'] as const,
      registers,
    }),
    modelCost: new Counter({
      name: 'leash_model_cost_usd_total',
      help: 'Model cost settled, in US dollars, by agent and model.',
      labelNames: ['agent', 'model'] as const,
      registers,
    }),
    inboxNotifications: new Counter({
      name: 'leash_inbox_webhook_deliveries_total',
      help: "Webhook posts of the reviewers' inbox, by reviewer group, kind and outcome.",
      labelNames: ['group', 'kind', 'outcome'] as const,
      registers,
    }),
    addLagSource(source) {
      lagSources.add(source);
      return () => lagSources.delete(source);
    },
    addApprovalsSource(source) {
      approvalSources.add(source);
      return () => approvalSources.delete(source);
    },
    addTenantBudgetSource(source) {
      budgetSources.add(source);
      return () => budgetSources.delete(source);
    },
  };
}
