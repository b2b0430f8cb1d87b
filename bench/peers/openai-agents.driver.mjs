// OpenAI Agents JS: one agent, one function tool, and a scripted Model (the SDK's Model
// interface, implemented here) that answers at once: no network, tracing off, the run's
// state in memory only.
//
//   node bench/peers/openai-agents.driver.mjs --tasks 20
import { Agent, Runner, Usage, tool } from '@openai/agents';
import { z } from 'zod';
import { TOOL_CALLS, drive, timed } from './measure.mjs';

let current; // the running task's timing; one task in flight

/** Calls search_kb until TOOL_CALLS results are in the input, then answers. */
class ScriptedModel {
  async getResponse(request) {
    return timed(current.model, async () => {
      const input = Array.isArray(request.input) ? request.input : [];
      const results = input.filter((item) => item.type === 'function_call_result').length;
      const output =
        results < TOOL_CALLS
          ? [
              {
                type: 'function_call',
                id: `fc-${results + 1}`,
                callId: `call-${results + 1}`,
                name: 'search_kb',
                arguments: JSON.stringify({ query: `lookup ${results + 1}` }),
                status: 'completed',
              },
            ]
          : [
              {
                type: 'message',
                id: 'msg-final',
                role: 'assistant',
                status: 'completed',
                content: [{ type: 'output_text', text: `Done after ${results} lookups.` }],
              },
            ];
      return { usage: new Usage(), output };
    });
  }

  async *getStreamedResponse() {
    throw new Error('the bench runs without streaming');
  }
}

const searchKb = tool({
  name: 'search_kb',
  description: 'Search the knowledge base.',
  parameters: z.object({ query: z.string() }),
  execute: async ({ query }) => timed(current.tool, async () => `kb: nothing found for ${query}`),
});

const agent = new Agent({
  name: 'helpdesk',
  instructions: 'Look it up five times.',
  model: new ScriptedModel(),
  tools: [searchKb],
});
const runner = new Runner({ tracingDisabled: true });

await drive('openai-agents', async (_taskId, timing) => {
  current = timing;
  const result = await runner.run(agent, 'Look it up five times.', { maxTurns: 10 });
  if (!String(result.finalOutput).startsWith('Done after')) {
    throw new Error(`openai-agents: unexpected final output ${result.finalOutput}`);
  }
});
