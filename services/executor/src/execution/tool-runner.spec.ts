import { resetLeashMetrics } from '@leash/telemetry';
import { TestTool } from '../tools/test-tool';
import type { ToolBackends } from '../tools/tool-port';
import { RunInterruptedError, runTool, type RunToolOptions } from './tool-runner';

describe('runTool', () => {
  const context = {
    actionId: 'a-1',
    tenantId: 'acme',
    taskId: 'task-1',
    backends: {} as ToolBackends,
  };
  const options = (extra: Partial<RunToolOptions> = {}): RunToolOptions => ({
    abort: new AbortController().signal,
    random: () => 0,
    ...extra,
  });

  it('counts a call in flight while it runs, and its duration by outcome when it ends', async () => {
    const metrics = resetLeashMetrics();
    const inFlight = async () =>
      (await metrics.toolCallsInFlight.get()).values.find((v) => v.labels.tool === 'test_probe')
        ?.value ?? 0;
    const kill = new AbortController();
    const tool = new TestTool({ steps: [{ kind: 'hang' }] });
    const running = runTool(tool, {}, context, options({ abort: kill.signal }));
    expect(await inFlight()).toBe(1);
    kill.abort(new Error('killed'));
    expect(await running).toMatchObject({ status: 'failed', error: { kind: 'aborted' } });
    expect(await inFlight()).toBe(0);
    const counts = (await metrics.toolCallDuration.get()).values.filter(
      (v) => v.metricName === 'leash_tool_call_duration_seconds_count',
    );
    expect(counts.map((v) => [v.labels, v.value])).toEqual([
      [{ tool: 'test_probe', status: 'aborted' }, 1],
    ]);
  });

  it('passes the action id as idempotency key and returns the output', async () => {
    const tool = new TestTool();
    const outcome = await runTool(tool, { label: 'x' }, context, options());
    expect(outcome).toMatchObject({ status: 'succeeded', attempts: 1, output: { label: 'x' } });
    expect(tool.calls[0]!.ctx.actionId).toBe('a-1');
  });

  it('retries a transient error, with the same idempotency key, then succeeds', async () => {
    const tool = new TestTool({ steps: [{ kind: 'transient' }, { kind: 'transient' }] });
    const outcome = await runTool(tool, {}, context, options());
    expect(outcome).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(tool.calls.map((c) => c.ctx.actionId)).toEqual(['a-1', 'a-1', 'a-1']);
  });

  it('gives up after the policy allows, as a transient failure', async () => {
    const tool = new TestTool({
      retry: { maxAttempts: 2 },
      steps: [{ kind: 'transient' }, { kind: 'transient' }, { kind: 'transient' }],
    });
    const outcome = await runTool(tool, {}, context, options());
    expect(outcome).toMatchObject({ status: 'failed', attempts: 2, error: { kind: 'transient' } });
    expect(tool.calls).toHaveLength(2);
  });

  it('waits an exponential, jittered backoff between attempts', async () => {
    const tool = new TestTool({
      retry: { maxAttempts: 3, initialDelayMs: 40, maxDelayMs: 1_000 },
      steps: [{ kind: 'transient' }, { kind: 'transient' }],
    });
    const draws: number[] = [];
    const started = Date.now();
    await runTool(tool, {}, context, options({ random: () => (draws.push(1), 0.5) }));
    // Full jitter over ceilings of 40 and 80 ms, drawn at the midpoint: 20 + 40 ms.
    expect(draws).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('does not retry a semantic error, nor an unexpected one', async () => {
    const semantic = new TestTool({ steps: [{ kind: 'semantic' }] });
    expect(await runTool(semantic, {}, context, options())).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { kind: 'semantic', message: 'the test backend refuses this request' },
    });
    expect(semantic.calls).toHaveLength(1);
    const crash = new TestTool({ steps: [{ kind: 'unexpected' }] });
    expect(await runTool(crash, {}, context, options())).toMatchObject({
      attempts: 1,
      error: {
        kind: 'semantic',
        message: expect.stringMatching(/unexpectedly: the test backend crashed/),
      },
    });
  });

  it('aborts the signal on the timeout and does not retry', async () => {
    const tool = new TestTool({ timeoutMs: 30, steps: [{ kind: 'hang' }] });
    const outcome = await runTool(tool, {}, context, options());
    expect(outcome).toMatchObject({ status: 'failed', attempts: 1, error: { kind: 'timeout' } });
    expect(tool.calls[0]!.ctx.signal.aborted).toBe(true);
    expect(tool.calls).toHaveLength(1);
  });

  it('stops waiting on the timeout even when the tool ignores its signal', async () => {
    const tool = new TestTool({ timeoutMs: 30, steps: [{ kind: 'hang', ignoreAbort: true }] });
    expect(await runTool(tool, {}, context, options())).toMatchObject({
      error: { kind: 'timeout' },
    });
  });

  it('aborts on a kill and reports it as aborted', async () => {
    const kill = new AbortController();
    const tool = new TestTool({ timeoutMs: 10_000, steps: [{ kind: 'hang' }] });
    const running = runTool(tool, {}, context, options({ abort: kill.signal }));
    await new Promise((resolve) => setImmediate(resolve));
    kill.abort(new Error('kill cmd-1: runaway agent'));
    expect(await running).toMatchObject({
      status: 'failed',
      error: { kind: 'aborted', message: 'aborted: kill cmd-1: runaway agent' },
    });
    expect(tool.calls[0]!.ctx.signal.aborted).toBe(true);
  });

  it('throws, recording nothing, when the delivery is interrupted', async () => {
    const interrupt = new AbortController();
    const tool = new TestTool({ timeoutMs: 10_000, steps: [{ kind: 'hang' }] });
    const running = runTool(tool, {}, context, options({ interrupt: interrupt.signal }));
    await new Promise((resolve) => setImmediate(resolve));
    interrupt.abort();
    await expect(running).rejects.toBeInstanceOf(RunInterruptedError);
  });
});
