import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  AgentCatalog,
  catalogHeads,
  IT_HELPDESK_SCENARIOS,
  IT_HELPDESK_GOLDEN_SCENARIOS,
  PROCUREMENT_SCENARIOS,
  PROCUREMENT_GOLDEN_SCENARIOS,
  SUPPORT_SCENARIOS,
  SUPPORT_GOLDEN_SCENARIOS,
} from '@leash/agents';
import { auditEntries, runSummaries } from '@leash/audit';
import { LeashClient } from '@leash/client';
import { TaskRequestedV1, type AnyEnvelope, type TaskStatus } from '@leash/contracts';
import type { Engines } from '@leash/engines';
import { PLANNER, PLANNER_TASKS } from '@leash/service-planner';
import { demoReviewersFor, DEMO_TENANT, DEMO_TENANTS } from '../demo/demo-reviewers';
import { describeEvent, STATUS_EXIT_CODES } from '../demo/task-progress';
import { UsageError } from './arguments';
import { InTimeOrder } from './in-time-order';
import type { Terminal } from './terminal';

/*
 * `leash task submit` and `leash task watch`: hand a task to a running
 * Leash (npm start, or the services alone) and follow it through the bus.
 */

// From the agents lib rather than the planner service: the CLI stays light to start.
const REFERENCE_SCENARIOS = [
  ...IT_HELPDESK_SCENARIOS,
  ...IT_HELPDESK_GOLDEN_SCENARIOS,
  ...PROCUREMENT_SCENARIOS,
  ...PROCUREMENT_GOLDEN_SCENARIOS,
  ...SUPPORT_SCENARIOS,
  ...SUPPORT_GOLDEN_SCENARIOS,
];

export type TaskCommand =
  | { readonly kind: 'help'; readonly topic: 'task' }
  | {
      readonly kind: 'task-submit';
      readonly agent: string;
      readonly input: string;
      readonly tenantId: string;
      readonly scenario?: string;
      readonly taskId?: string;
      /** Follow it after submitting, as `task watch` does. */
      readonly watch: boolean;
    }
  | { readonly kind: 'task-watch'; readonly taskId: string; readonly timeoutMs?: number };

/** The longest input a task may have: the contract's own limit. */
const MAX_INPUT_CHARACTERS = TaskRequestedV1.shape.input.maxLength ?? Infinity;

/** `leash task watch` exits with this when --timeout passes before the task finishes. */
export const WATCH_TIMEOUT_EXIT_CODE = 124;

export const TASK_HELP = `leash task submit --agent A --input "..." [--tenant T] [--scenario ID] [--task-id ID] [--watch]
leash task submit --scenario ID [--tenant T] [--watch]
leash task watch ID [--timeout MS]

submit publishes tasks.requested (tenant default "${DEMO_TENANT}"; npm start seeds
reviewers for ${DEMO_TENANTS.join(' and ')}, other tenants need leash reviewers add) and prints the task id and the command that follows it.
The agent must be in the catalog; --input is at most ${MAX_INPUT_CHARACTERS} characters;
a --task-id already used is refused (exit 1).
--scenario names a scripted scenario (the scripted model plays it; its agent
and input are the defaults of --agent and --input). Without it the scripted
model finds a scenario by the exact input, else plays the agent's default.

watch follows one task live through the bus, from its first event (the
steps, each gate's decision, approvals waiting with the command that
answers them, tool runs, cost) until it finishes.

Exit codes of watch (and submit --watch): 0 succeeded, 1 failed,
3 rejected, 4 escalated, 5 limit_exceeded, 6 killed, ${WATCH_TIMEOUT_EXIT_CODE} --timeout passed;
2 bad arguments.
`;

function parse(
  command: string,
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    const message = (error as Error).message.split('. ')[0].replace(/\.$/, '');
    throw new UsageError(`${command}: ${message}`, 'task');
  }
}

/** Turns `leash task ...` arguments (after `task`) into a command, or throws UsageError. */
export function parseTaskCommand(argv: readonly string[]): TaskCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    return { kind: 'help', topic: 'task' };
  }
  if (sub === 'submit') {
    const { values, positionals } = parse('task submit', rest, {
      help: { type: 'boolean', short: 'h' },
      agent: { type: 'string' },
      input: { type: 'string' },
      tenant: { type: 'string' },
      scenario: { type: 'string' },
      'task-id': { type: 'string' },
      watch: { type: 'boolean' },
    });
    if (values.help) return { kind: 'help', topic: 'task' };
    if (positionals.length > 0) {
      throw new UsageError(
        `task submit takes no positional arguments, got ${positionals.join(' ')}`,
        'task',
      );
    }
    const scenarioId = (values.scenario as string | undefined)?.trim();
    const scenario = scenarioId ? REFERENCE_SCENARIOS.find((s) => s.id === scenarioId) : undefined;
    if (scenarioId && !scenario) {
      throw new UsageError(
        `no scenario "${scenarioId}"; scenarios: ${REFERENCE_SCENARIOS.map((s) => s.id).join(', ')}`,
        'task',
      );
    }
    const agent = (values.agent as string | undefined)?.trim() || scenario?.agent;
    const input = (values.input as string | undefined) ?? scenario?.input;
    if (!agent) throw new UsageError('task submit needs --agent A (or --scenario ID)', 'task');
    if (scenario && agent !== scenario.agent) {
      throw new UsageError(
        `scenario ${scenario.id} is for agent ${scenario.agent}, not ${agent}`,
        'task',
      );
    }
    if (input === undefined || !input.trim()) {
      throw new UsageError('task submit needs --input "..." (or --scenario ID)', 'task');
    }
    if (input.length > MAX_INPUT_CHARACTERS) {
      throw new UsageError(
        `--input is ${input.length} characters; a task's input is at most ${MAX_INPUT_CHARACTERS}`,
        'task',
      );
    }
    const tenantId = (values.tenant as string | undefined)?.trim() ?? DEMO_TENANT;
    if (!tenantId) throw new UsageError('--tenant must not be empty', 'task');
    const taskId = (values['task-id'] as string | undefined)?.trim();
    return {
      kind: 'task-submit',
      agent,
      input,
      tenantId,
      watch: (values.watch as boolean | undefined) ?? false,
      ...(scenario ? { scenario: scenario.id } : {}),
      ...(taskId ? { taskId } : {}),
    };
  }
  if (sub === 'watch') {
    const { values, positionals } = parse('task watch', rest, {
      help: { type: 'boolean', short: 'h' },
      timeout: { type: 'string' },
    });
    if (values.help) return { kind: 'help', topic: 'task' };
    if (positionals.length !== 1 || !positionals[0].trim()) {
      throw new UsageError(
        `task watch takes one task id, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
        'task',
      );
    }
    const timeout = values.timeout as string | undefined;
    let timeoutMs: number | undefined;
    if (timeout !== undefined) {
      timeoutMs = /^\d+$/.test(timeout.trim()) ? Number(timeout) : NaN;
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
        throw new UsageError(
          `--timeout must be a whole number of milliseconds, got "${timeout}"`,
          'task',
        );
      }
    }
    return {
      kind: 'task-watch',
      taskId: positionals[0].trim(),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
  }
  throw new UsageError(`unknown task command "${sub}": use submit or watch`, 'task');
}

export async function runTaskCommand(
  command: Exclude<TaskCommand, { kind: 'help' }>,
  engines: Engines,
  terminal: Terminal,
): Promise<number> {
  const client = new LeashClient({ bus: engines.bus, source: 'leash-cli' });
  const unplanned = await noPlanner(engines);
  if (command.kind === 'task-watch') {
    // Said, not fatal: a finished task's history still plays back without a planner.
    if (unplanned)
      terminal.err(`leash task watch: ${unplanned}; a task not finished yet will not move`);
    return watch(client, command.taskId, terminal, command.timeoutMs);
  }
  const refused = await refusal(command, engines);
  if (refused) {
    terminal.err(`leash task submit: ${refused.message}`);
    return refused.code;
  }
  const taskId = await client.submitTask({
    tenantId: command.tenantId,
    agent: command.agent,
    input: command.input,
    ...(command.taskId !== undefined ? { taskId: command.taskId } : {}),
    ...(command.scenario !== undefined ? { metadata: { scenario: command.scenario } } : {}),
  });
  terminal.out(`submitted task ${taskId} (agent ${command.agent}, tenant ${command.tenantId})`);
  if (unplanned) {
    // Submitted all the same: the task waits on the bus until a planner starts. A watch would wait for nothing.
    terminal.err(
      `leash task submit: ${unplanned}; the task waits on the bus until a planner starts`,
    );
    return command.watch ? 1 : 0;
  }
  if (!command.watch) {
    terminal.out(`follow it: bin/leash task watch ${taskId}`);
    return 0;
  }
  return watch(client, taskId, terminal);
}

/**
 * Why nothing would happen, when no planner consumes the bus this command opened:
 * most often a CLI run from another directory, or with another LEASH_BUS_FILE,
 * than the services. Undefined when a planner is live, or the bus cannot tell.
 */
async function noPlanner(engines: Engines): Promise<string | undefined> {
  if ((await engines.bus.liveMembers(PLANNER)) !== 0) return undefined;
  const variables =
    engines.bus.system === 'kafka'
      ? 'KAFKA_BROKERS and LEASH_TOPIC_PREFIX'
      : 'LEASH_BUS_FILE (and the working directory: bin/leash runs from the repository root)';
  return (
    `no planner is consuming ${engines.bus.topicName('tasks.requested')} on ${engines.location.bus}. ` +
    `Is Leash running against this bus? Check that it and this command use the same ${variables}`
  );
}

/**
 * What the services would drop or fail later, said now: an agent the
 * catalog does not know (exit 2, bad usage), a task id already used (exit 1:
 * the planner would ignore the second task).
 */
async function refusal(
  command: Extract<TaskCommand, { kind: 'task-submit' }>,
  engines: Engines,
): Promise<{ readonly message: string; readonly code: number } | undefined> {
  if (!(await new AgentCatalog(engines.store).profile(command.agent))) {
    const heads = await engines.store.repository(catalogHeads).find();
    const known = heads
      .filter((head) => head.doc.kind === 'profile')
      .map((head) => head.doc.name)
      .sort();
    return {
      message:
        `no agent "${command.agent}" in the catalog; known agents: ` +
        (known.length > 0 ? known.join(', ') : 'none (has Leash started on this store?)'),
      code: 2,
    };
  }
  const taskId = command.taskId;
  if (taskId !== undefined) {
    // The planner's record of the task, which is what ignores a second one; in one
    // process, also what the audit saw of a task the planner has not taken yet.
    const seen =
      (await engines.store.repository(PLANNER_TASKS).get(taskId)) !== undefined ||
      (await engines.store.repository(runSummaries).get(taskId)) !== undefined ||
      (await engines.store.repository(auditEntries).count({ where: { taskId } })) > 0;
    if (seen) {
      return {
        message: `task ${taskId} already exists; follow it with bin/leash task watch ${taskId}, or pick another --task-id`,
        code: 1,
      };
    }
  }
  return undefined;
}

async function watch(
  client: LeashClient,
  taskId: string,
  terminal: Terminal,
  timeoutMs?: number,
): Promise<number> {
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const print = (event: AnyEnvelope) => {
    const time = event.time.slice(11, 23);
    for (const line of describeEvent(event, { reviewersFor: demoReviewersFor, color })) {
      terminal.out(`${time}  ${line}`);
    }
  };
  terminal.out(`watching task ${taskId} (Ctrl-C stops watching, not the task)`);
  // The watch reads each topic in its own order: print in the order things happened.
  const inOrder = new InTimeOrder(print);
  const watched = await client.watchTask(taskId, (event) => inOrder.add(event));
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = new Promise<undefined>((resolve) => {
      if (timeoutMs !== undefined) timer = setTimeout(resolve, timeoutMs, undefined);
    });
    const finished = await Promise.race([watched.finished, timedOut]);
    inOrder.flush();
    if (!finished) {
      terminal.err(`leash task watch: ${taskId} has not finished within ${timeoutMs} ms`);
      return WATCH_TIMEOUT_EXIT_CODE;
    }
    return STATUS_EXIT_CODES[finished.data.status as TaskStatus];
  } finally {
    clearTimeout(timer);
    await watched.close();
  }
}
