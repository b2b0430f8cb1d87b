import type { AnyEnvelope } from '@leash/contracts';
import type { RunSummary, RunTool } from './audit.aggregates';

/*
 * Folds one event into its task's run summary. Events of one task arrive on
 * several topics, so in any order: every step here gives the same summary
 * whatever the order (earliest start, union of tools, sums, the finish event
 * wins over what came before it for status and cost).
 */

export function emptyRun(event: AnyEnvelope, taskId: string, now: string): RunSummary {
  return {
    taskId,
    tenantId: event.tenantId ?? '',
    agent: '',
    status: 'running',
    errorClass: null,
    startedAt: event.time,
    finishedAt: null,
    costUsdMicros: 0,
    usageUsdMicros: 0,
    inputTokens: 0,
    outputTokens: 0,
    latencyMs: null,
    tools: [],
    toolCalls: 0,
    rejections: 0,
    toolFailures: 0,
    versions: {},
    events: 0,
    updatedAt: now,
  };
}

function agentOf(event: AnyEnvelope): { name?: string; version?: number } {
  const data = event.data as { agent?: unknown; agentVersion?: unknown };
  if (typeof data.agent === 'string') {
    return {
      name: data.agent,
      version: typeof data.agentVersion === 'number' ? data.agentVersion : undefined,
    };
  }
  if (typeof data.agent === 'object' && data.agent !== null) {
    const ref = data.agent as { name?: unknown; version?: unknown };
    return {
      name: typeof ref.name === 'string' ? ref.name : undefined,
      version: typeof ref.version === 'number' ? ref.version : undefined,
    };
  }
  return {};
}

function errorClassOf(run: RunSummary): string | null {
  if (run.status === 'running' || run.status === 'succeeded') return null;
  return run.lastRejection ?? run.lastToolError ?? run.status;
}

export function foldEvent(run: RunSummary, event: AnyEnvelope, now: string): RunSummary {
  const next: RunSummary = { ...run, events: run.events + 1, updatedAt: now };
  if (!next.tenantId && event.tenantId) next.tenantId = event.tenantId;
  if (event.time < next.startedAt) next.startedAt = event.time;
  const agent = agentOf(event);
  if (!next.agent && agent.name) next.agent = agent.name;
  if (next.agentVersion === undefined && agent.version !== undefined) {
    next.agentVersion = agent.version;
  }
  const versions = (event.data as { versions?: RunSummary['versions'] }).versions;
  if (versions) next.versions = { ...versions, ...next.versions };

  switch (event.type) {
    case 'leash.actions.proposed.v1':
      if (!next.tools.includes(event.data.tool))
        next.tools = [...next.tools, event.data.tool].sort();
      break;
    case 'leash.actions.completed.v1':
      next.toolCalls += 1;
      if (event.data.status === 'failed') {
        next.toolFailures += 1;
        next.lastToolError = `tool_${event.data.error?.kind ?? 'failed'}`;
      }
      break;
    case 'leash.actions.rejected.v1':
      next.rejections += 1;
      next.lastRejection = event.data.code;
      break;
    case 'leash.usage.recorded.v1':
      next.usageUsdMicros += event.data.usdMicros;
      next.inputTokens += event.data.inputTokens;
      next.outputTokens += event.data.outputTokens;
      break;
    case 'leash.tasks.finished.v1': {
      const d = event.data;
      next.status = d.status;
      next.reason = d.reason.slice(0, 2_000);
      next.startedAt = d.startedAt < next.startedAt ? d.startedAt : next.startedAt;
      next.finishedAt = d.finishedAt;
      next.versions = { ...next.versions, ...d.versions };
      for (const step of d.trajectory) {
        if (step.tool && !next.tools.includes(step.tool)) next.tools = [...next.tools, step.tool];
      }
      next.tools = [...next.tools].sort();
      next.inputTokens = Math.max(next.inputTokens, d.cost.inputTokens);
      next.outputTokens = Math.max(next.outputTokens, d.cost.outputTokens);
      next.toolCalls = Math.max(next.toolCalls, d.cost.toolCalls);
      break;
    }
    default:
      break;
  }
  next.costUsdMicros =
    finishedCost(next, event) ?? Math.max(next.costUsdMicros, next.usageUsdMicros);
  if (next.finishedAt) {
    next.latencyMs = Math.max(0, Date.parse(next.finishedAt) - Date.parse(next.startedAt));
  }
  next.errorClass = errorClassOf(next);
  return next;
}

/** The task's own cost report is the truth once it has finished; usage may still trickle in. */
function finishedCost(run: RunSummary, event: AnyEnvelope): number | undefined {
  if (event.type === 'leash.tasks.finished.v1') {
    return Math.max(event.data.cost.usdMicros, run.usageUsdMicros);
  }
  return run.finishedAt ? Math.max(run.costUsdMicros, run.usageUsdMicros) : undefined;
}

/**
 * The tool rows of `after` that differ from those of `before` (all of them
 * when there is no `before`): a run's rows change only with the fields they
 * copy (its cost, status, latency), far less often than the run itself.
 */
export function changedToolRows(before: RunSummary | undefined, after: RunSummary): RunTool[] {
  const rows = toolRowsOf(after);
  if (!before) return rows;
  const old = new Map(toolRowsOf(before).map((row) => [row.tool, row]));
  return rows.filter((row) => {
    const was = old.get(row.tool);
    return (
      !was || (Object.keys(row) as (keyof RunTool)[]).some((field) => row[field] !== was[field])
    );
  });
}

export function toolRowsOf(run: RunSummary): RunTool[] {
  return run.tools.map((tool) => ({
    taskId: run.taskId,
    tool,
    tenantId: run.tenantId,
    agent: run.agent,
    status: run.status,
    errorClass: run.errorClass,
    startedAt: run.startedAt,
    costUsdMicros: run.costUsdMicros,
    latencyMs: run.latencyMs,
  }));
}
