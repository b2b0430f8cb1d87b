import { z } from 'zod';
import {
  ActionAuthorizedV1,
  ActionCompletedV1,
  ActionDecidedV1,
  ActionFundedV1,
  ActionProposedV1,
  ActionRejectedV1,
} from './events/action.schema';
import {
  ApprovalDecidedV1,
  ApprovalRequestedV1,
  ApprovalVerdictRecordedV1,
} from './events/approval.schema';
import {
  BudgetAlarmV1,
  TenantTimeZoneChangedV1,
  BudgetDecidedV1,
  BudgetRequestedV1,
  UsageRecordedV1,
} from './events/budget.schema';
import { ControlAckV1, KillV1, ResumeV1 } from './events/control.schema';
import { ReleaseCreatedV1, ReleaseRoutedV1 } from './events/release.schema';
import {
  TaskCostAlarmV1,
  TaskFinishedV1,
  TaskModelSwitchedV1,
  TaskRequestedV1,
} from './events/task.schema';

/*
 * WARNING: topic names and event types are a wire contract. Renaming one, or
 * changing what an existing version means, breaks every running consumer and
 * every stored event. Add a new version (`.v2`) beside the old one instead.
 */

/** How a topic's events are keyed onto partitions; one key's events stay in order. */
export type PartitionKeyField = 'taskId' | 'tenantId' | 'control';

export interface TopicDefinition {
  readonly key: PartitionKeyField;
  readonly description: string;
  /** Its history is state: every start reads it from the beginning, so no record may age out. */
  readonly keepForever?: boolean;
}

export const TOPICS = {
  'tasks.requested': { key: 'taskId', description: 'Upstream systems ask for a task.' },
  'tasks.finished': { key: 'taskId', description: 'A task reached a terminal state.' },
  'tasks.progress': {
    key: 'taskId',
    description: 'What a running task did that people watch for: a cost alarm, a model switch.',
  },
  'actions.proposed': { key: 'taskId', description: 'The planner proposes one tool call.' },
  'actions.decided': {
    key: 'taskId',
    description: 'Policy allowed an action or routed it to a human.',
  },
  'actions.funded': { key: 'taskId', description: 'Budget reserved the cost of a decided action.' },
  'actions.authorized': { key: 'taskId', description: 'Reviewers approved a funded action.' },
  'actions.rejected': {
    key: 'taskId',
    description: 'A gate refused an action; names the gate and why.',
  },
  'actions.completed': { key: 'taskId', description: 'The executor ran an action.' },
  'budget.requests': {
    key: 'tenantId',
    description: 'Reservations, keyed by tenant so one tenant is decided one at a time.',
  },
  'budget.decisions': { key: 'taskId', description: 'Grants or refusals of model reservations.' },
  'budget.alarms': {
    key: 'tenantId',
    description: "A cap crossed a configured fraction, or a tenant's budget settings changed.",
  },
  'usage.recorded': { key: 'taskId', description: 'Actual spend, settling a reservation.' },
  'approvals.requested': { key: 'taskId', description: 'An action waits for reviewers.' },
  'approvals.decided': {
    key: 'taskId',
    description: "A reviewer's verdict, signed by the reviewer's key or a trusted front end.",
  },
  'approvals.verdicts': {
    key: 'taskId',
    description:
      'What the approvals gate made of each verdict: accepted, with its effect, or refused, with why.',
  },
  control: {
    key: 'control',
    description:
      'Kill, resume and their acknowledgements, and agent releases and their routing; one key keeps them in order.',
    keepForever: true,
  },
} as const satisfies Record<string, TopicDefinition>;

export type TopicName = keyof typeof TOPICS;
export const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];

export interface EventDefinition {
  readonly topic: TopicName;
  readonly schema: z.ZodType;
  readonly summary: string;
}

export const EVENTS = {
  'leash.tasks.requested.v1': {
    topic: 'tasks.requested',
    schema: TaskRequestedV1,
    summary: 'A task for an agent.',
  },
  'leash.tasks.finished.v1': {
    topic: 'tasks.finished',
    schema: TaskFinishedV1,
    summary: 'Terminal state, result, trajectory and cost of a task.',
  },
  'leash.tasks.cost_alarm.v1': {
    topic: 'tasks.progress',
    schema: TaskCostAlarmV1,
    summary: "A task passed a multiple of its agent's typical cost: an alarm, or its stop.",
  },
  'leash.tasks.model_switched.v1': {
    topic: 'tasks.progress',
    schema: TaskModelSwitchedV1,
    summary: "A task switched to its agent's cheaper fallback model.",
  },
  'leash.actions.proposed.v1': {
    topic: 'actions.proposed',
    schema: ActionProposedV1,
    summary: 'One tool call proposed by the planner.',
  },
  'leash.actions.decided.v1': {
    topic: 'actions.decided',
    schema: ActionDecidedV1,
    summary: 'A signed policy decision: allow, or approve (a human decides).',
  },
  'leash.actions.funded.v1': {
    topic: 'actions.funded',
    schema: ActionFundedV1,
    summary: 'A decided action with a signed budget grant.',
  },
  'leash.actions.authorized.v1': {
    topic: 'actions.authorized',
    schema: ActionAuthorizedV1,
    summary: 'A funded action with a signed human approval.',
  },
  'leash.actions.rejected.v1': {
    topic: 'actions.rejected',
    schema: ActionRejectedV1,
    summary: 'A gate refused an action.',
  },
  'leash.actions.completed.v1': {
    topic: 'actions.completed',
    schema: ActionCompletedV1,
    summary: 'The result of a tool run.',
  },
  'leash.budget.requested.v1': {
    topic: 'budget.requests',
    schema: BudgetRequestedV1,
    summary: 'A reservation request for a model call or an action.',
  },
  'leash.budget.decided.v1': {
    topic: 'budget.decisions',
    schema: BudgetDecidedV1,
    summary: 'A reservation granted or refused.',
  },
  'leash.budget.alarm.v1': {
    topic: 'budget.alarms',
    schema: BudgetAlarmV1,
    summary: 'A cap crossed an alarm fraction.',
  },
  'leash.budget.time_zone_changed.v1': {
    topic: 'budget.alarms',
    schema: TenantTimeZoneChangedV1,
    summary: "An operator changed the tenant's time zone; when it takes effect, and who.",
  },
  'leash.usage.recorded.v1': {
    topic: 'usage.recorded',
    schema: UsageRecordedV1,
    summary: 'Actual usage of a model call or tool run.',
  },
  'leash.approvals.requested.v1': {
    topic: 'approvals.requested',
    schema: ApprovalRequestedV1,
    summary: 'What a reviewer needs to decide.',
  },
  'leash.approvals.decided.v1': {
    topic: 'approvals.decided',
    schema: ApprovalDecidedV1,
    summary:
      'Approve, reject with feedback, or edit the arguments; with proof of who sent it (proof).',
  },
  'leash.approvals.verdict_recorded.v1': {
    topic: 'approvals.verdicts',
    schema: ApprovalVerdictRecordedV1,
    summary: 'A verdict accepted (counted, authorized, rejected, edited) or refused, and why.',
  },
  'leash.control.kill.v1': {
    topic: 'control',
    schema: KillV1,
    summary: 'Stop new and in-flight calls in a scope.',
  },
  'leash.control.resume.v1': {
    topic: 'control',
    schema: ResumeV1,
    summary: 'Lift a kill.',
  },
  'leash.control.ack.v1': {
    topic: 'control',
    schema: ControlAckV1,
    summary: 'A service applied a kill or resume.',
  },
  'leash.releases.created.v1': {
    topic: 'control',
    schema: ReleaseCreatedV1,
    summary: "An agent's new release: profile, prompt, policy, toolset and caps, immutable.",
  },
  'leash.releases.routed.v1': {
    topic: 'control',
    schema: ReleaseRoutedV1,
    summary:
      'Which releases take new tasks: promote, canary, rollback, or a canary rolled back by itself.',
  },
} as const satisfies Record<string, EventDefinition>;

type EventRegistry = typeof EVENTS;
export type EventType = keyof EventRegistry;
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];
export type EventData<T extends EventType> = z.infer<EventRegistry[T]['schema']>;
/** Event types that travel on a topic. */
export type EventTypeOn<T extends TopicName> = {
  [K in EventType]: EventRegistry[K]['topic'] extends T ? K : never;
}[EventType];

export function eventsOn(topic: TopicName): EventType[] {
  return EVENT_TYPES.filter((type) => EVENTS[type].topic === topic);
}

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENTS, type);
}

/** The dead-letter topic of a topic: `<topic>.dlq`. */
export function deadLetterTopic(physicalTopic: string): string {
  return `${physicalTopic}.dlq`;
}
