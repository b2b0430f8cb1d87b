// ops-bot's tool code, loaded by the executor (LEASH_TOOL_MODULES). Each tool is an async
// function of the arguments the gates approved and a context: ctx.actionId is the idempotency
// key (send it, so a repeat posts once), ctx.signal is aborted on timeout and by a kill.

class ToolSemanticError extends Error {
  name = 'ToolSemanticError'; // fails the action without a retry
}

exports.tools = {
  async send_slack_message({ channel, text }, ctx) {
    const webhook = process.env.SLACK_WEBHOOK_URL;
    if (!webhook) throw new ToolSemanticError('SLACK_WEBHOOK_URL is not set');
    const response = await fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': ctx.actionId },
      body: JSON.stringify({ channel, text }),
      signal: ctx.signal,
    });
    if (!response.ok) throw new ToolSemanticError(`Slack answered ${response.status}`);
    return { channel, posted: true };
  },
};
