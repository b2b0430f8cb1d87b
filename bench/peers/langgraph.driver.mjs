// LangGraph.js: the prebuilt ReAct agent (model node, ToolNode, tools condition) with the
// durable SQLite checkpointer on a temp file, one thread per task, a scripted chat model
// that answers at once, and one trivial tool.
//
//   node bench/peers/langgraph.driver.mjs --tasks 20
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { z } from 'zod';
import { TOOL_CALLS, drive, timed } from './measure.mjs';

let current; // the running task's timing; one task in flight

/** Calls search_kb until TOOL_CALLS results are in the conversation, then answers. */
class ScriptedChatModel extends BaseChatModel {
  _llmType() {
    return 'scripted';
  }

  bindTools() {
    return this;
  }

  async _generate(messages) {
    return timed(current.model, async () => {
      const results = messages.filter((m) => m.getType() === 'tool').length;
      const message =
        results < TOOL_CALLS
          ? new AIMessage({
              content: '',
              tool_calls: [
                {
                  id: `call-${results + 1}`,
                  name: 'search_kb',
                  args: { query: `lookup ${results + 1}` },
                  type: 'tool_call',
                },
              ],
            })
          : new AIMessage({ content: `Done after ${results} lookups.` });
      return { generations: [{ text: '', message }] };
    });
  }
}

const searchKb = tool(
  async ({ query }) => timed(current.tool, async () => `kb: nothing found for ${query}`),
  {
    name: 'search_kb',
    description: 'Search the knowledge base.',
    schema: z.object({ query: z.string() }),
  },
);

const dir = mkdtempSync(join(tmpdir(), 'leash-peers-langgraph-'));
const checkpointer = SqliteSaver.fromConnString(join(dir, 'checkpoints.db'));
const agent = createReactAgent({
  llm: new ScriptedChatModel({}),
  tools: [searchKb],
  checkpointSaver: checkpointer,
});

try {
  await drive('langgraph', async (taskId, timing) => {
    current = timing;
    await agent.invoke(
      { messages: [{ role: 'user', content: 'Look it up five times.' }] },
      { configurable: { thread_id: taskId } },
    );
  });
  // Durable, not just configured: the checkpoints are on disk (checked after the measured span).
  const { n } = checkpointer.db.prepare('SELECT count(*) AS n FROM checkpoints').get();
  if (n === 0) throw new Error('langgraph: the checkpointer wrote nothing');
} finally {
  checkpointer.db.close();
  rmSync(dir, { recursive: true, force: true });
}
