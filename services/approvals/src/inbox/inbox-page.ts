import { inboxClient } from './inbox-client';
import type { RequestDetail } from './inbox-desk';

/*
 * The inbox's pages, rendered on the server. Everything the agent or the
 * planner wrote (arguments, reasons, history) is untrusted text: it goes
 * through `escape` into HTML, and into the page's JSON through `jsonForScript`.
 */

export function escape(text: unknown): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON inside <script type="application/json">: no `<` can close the element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, ' ');
}

/** The browser script: the client function's own source, as the type checker saw it. */
export const CLIENT_SCRIPT = `(${inboxClient.toString()})();\n`;

export const STYLES = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #667; --line: #dde; --accent: #2557d6; --bad: #b42318; --warn: #a15c00; --ok: #137333; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #14161a; --muted: #99a; --line: #2a2e35; --accent: #7aa2ff; --bad: #ff7b72; --warn: #e3b341; --ok: #56d364; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { font-size: 1.05rem; margin: 0; }
header .who { margin-left: auto; color: var(--muted); font-size: .9rem; }
header form { display: inline; }
.dot { width: .6rem; height: .6rem; border-radius: 50%; background: var(--muted); display: inline-block; }
body.live .dot { background: var(--ok); }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
a { color: var(--accent); }
.row { display: grid; grid-template-columns: 1.6fr .8fr .8fr 1.6fr .6fr .8fr; gap: .5rem; align-items: center; padding: .65rem .75rem; border: 1px solid var(--line); border-radius: .5rem; margin-bottom: .5rem; color: inherit; text-decoration: none; }
.row.selected { outline: 2px solid var(--accent); }
.row.expired { opacity: .4; }
.tool { font-weight: 600; font-family: ui-monospace, monospace; }
.risk { font-size: .8rem; padding: .1rem .4rem; border-radius: .3rem; border: 1px solid var(--line); justify-self: start; }
.risk-irreversible { color: var(--bad); border-color: var(--bad); }
.risk-write { color: var(--warn); border-color: var(--warn); }
.amount { font-variant-numeric: tabular-nums; font-weight: 600; }
.agent, .muted, .hint { color: var(--muted); }
.taint { color: var(--bad); font-size: .8rem; grid-column: 1 / -1; }
.quorum, .expiry { font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: 10rem 1fr; gap: .35rem 1rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: color-mix(in srgb, var(--line) 40%, transparent); padding: .6rem; border-radius: .4rem; overflow-x: auto; white-space: pre-wrap; }
.tainted { color: var(--bad); font-weight: 600; }
.verdict { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-start; margin: 1rem 0; }
.verdict textarea { flex: 1 1 16rem; min-height: 3.2rem; }
button { font: inherit; padding: .5rem .9rem; border-radius: .4rem; border: 1px solid var(--line); background: var(--bg); color: inherit; cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .45; cursor: not-allowed; }
input, select, textarea { font: inherit; padding: .4rem; border: 1px solid var(--line); border-radius: .3rem; background: var(--bg); color: inherit; width: 100%; }
input[type=checkbox] { width: auto; }
#edit-form label { display: block; margin-top: .6rem; }
#edit-form .name { font-family: ui-monospace, monospace; margin-right: .5rem; }
.field-error { color: var(--bad); font-size: .85rem; }
.diff-line { display: flex; gap: .6rem; flex-wrap: wrap; font-family: ui-monospace, monospace; }
del { color: var(--bad); } ins { color: var(--ok); text-decoration: none; }
.banner { padding: .6rem .8rem; border: 1px solid var(--warn); border-radius: .4rem; color: var(--warn); margin: .5rem 0; }
.toast { position: fixed; bottom: 1rem; left: 50%; transform: translateX(-50%); background: var(--fg); color: var(--bg); padding: .5rem .9rem; border-radius: .4rem; max-width: 90vw; }
.toast:empty { display: none; }
.toast.bad { background: var(--bad); color: #fff; }
kbd { border: 1px solid var(--line); border-radius: .25rem; padding: 0 .3rem; font-size: .85rem; }
#help { color: var(--muted); font-size: .9rem; }
@media (max-width: 640px) {
  .row { grid-template-columns: 1fr auto; }
  .row .agent, .row .tool { grid-column: 1 / -1; }
  dl { grid-template-columns: 1fr; }
  dt { margin-top: .4rem; }
  header .who { margin-left: 0; }
}
`;

interface Layout {
  readonly title: string;
  readonly page: string;
  readonly reviewer?: string;
  readonly csrfToken?: string;
  readonly attributes?: string;
}

function layout(options: Layout, content: string): string {
  const who =
    options.reviewer !== undefined
      ? `<span class="who">${escape(options.reviewer)} <form method="post" action="/signout"><input type="hidden" name="csrf" value="${escape(options.csrfToken ?? '')}"><button type="submit">Sign out</button></form></span>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escape(options.csrfToken ?? '')}">
<title>${escape(options.title)} · Leash inbox</title>
<link rel="stylesheet" href="/inbox.css">
</head><body data-page="${escape(options.page)}"${options.attributes ?? ''}>
<header><span class="dot" title="live"></span><h1><a href="/">Leash inbox</a></h1>${who}</header>
<main>${content}</main>
<div id="toast" class="toast" role="status" aria-live="polite"></div>
<script src="/inbox.js" defer></script>
</body></html>`;
}

export function signInPage(message?: string, token?: string): string {
  const form = token
    ? `<form method="post" action="/signin"><input type="hidden" name="token" value="${escape(token)}"><button class="primary" type="submit" id="signin">Sign in</button></form>`
    : `<form method="post" action="/signin"><label for="token">Invite token</label><input id="token" name="token" autocomplete="off"><p><button class="primary" type="submit" id="signin">Sign in</button></p></form>`;
  return layout(
    { title: 'Sign in', page: 'signin' },
    `<h2>Sign in</h2>${message ? `<p class="banner">${escape(message)}</p>` : ''}
<p>Open the link from <code>leash reviewers invite</code>, or paste its token. A link works once.</p>${form}`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout({ title, page: 'message' }, `<h2>${escape(title)}</h2><p>${escape(message)}</p>`);
}

export function queuePage(reviewer: string, csrfToken: string): string {
  return layout(
    { title: 'Queue', page: 'queue', reviewer, csrfToken },
    `<h2>Waiting for you <span id="count" class="muted">…</span></h2>
<p id="empty" class="muted" hidden>Nothing waits for you. New requests appear here as they arrive.</p>
<div id="queue" aria-live="polite"></div>
<p id="help" hidden><kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>Enter</kbd> open · <kbd>a</kbd> approve · <kbd>r</kbd> reject · <kbd>?</kbd> this help</p>
<p class="muted">Soonest expiry first. Press <kbd>?</kbd> for the keyboard.</p>`,
  );
}

function usd(micros: number): string {
  return `$${(micros / 1_000_000).toFixed(6).replace(/0{1,4}$/, '')}`;
}

export function requestPage(reviewer: string, csrfToken: string, detail: RequestDetail): string {
  const tainted = new Set(detail.policy.taintedArgs);
  const args = Object.entries(detail.arguments)
    .map(
      ([name, value]) =>
        `<dt${tainted.has(name) ? ' class="tainted"' : ''}>${escape(name)}${tainted.has(name) ? ' ⚠' : ''}</dt><dd><code>${escape(JSON.stringify(value))}</code></dd>`,
    )
    .join('');
  const taint = detail.taint
    .map(
      (t) =>
        `<li><b class="tainted">${escape(t.argument)}</b>: its value was found in ${escape(t.foundIn)}</li>`,
    )
    .join('');
  const history = detail.history.map((line) => `<li>${escape(line)}</li>`).join('');
  const rules = detail.policy.determiningPolicies
    .map((rule) => `<code>${escape(rule)}</code>`)
    .join(', ');
  const trace = detail.traceUrl
    ? `<a href="${escape(detail.traceUrl)}" rel="noopener" target="_blank">open the trace</a>`
    : `<code>leash audit ${escape(detail.taskId)}</code>`;
  const closed = detail.answerable
    ? ''
    : escape(`No longer waiting: ${detail.notAnswerableBecause ?? detail.status}.`);
  return layout(
    {
      title: `${detail.tool} · ${detail.approvalId}`,
      page: 'request',
      reviewer,
      csrfToken,
      attributes: ` data-approval-id="${escape(detail.approvalId)}"`,
    },
    `<p><a href="/">← queue</a></p>
<h2><span class="tool">${escape(detail.tool)}</span> <span class="risk risk-${escape(detail.riskClass)}">${escape(detail.riskClass)}</span></h2>
<p id="closed" class="banner"${closed ? '' : ' hidden'}>${closed}</p>
<dl>
<dt>agent</dt><dd>${escape(detail.agent.name)} v${escape(detail.agent.version)} · tenant ${escape(detail.tenantId)}</dd>
<dt>asked of</dt><dd>group ${escape(detail.reviewerGroup)}: <b id="quorum">${detail.approvedBy.length} of ${detail.reviewersRequired}</b> approvals${detail.approvedBy.length > 0 ? ` (${detail.approvedBy.map(escape).join(', ')})` : ''}</dd>
<dt>expires</dt><dd><span data-expires="${escape(detail.expiresAt)}"></span> (${escape(detail.expiresAt)})</dd>
<dt>reserved cost</dt><dd>${usd(detail.reservedUsdMicros)}</dd>
<dt>trace</dt><dd>${trace} · task <code>${escape(detail.taskId)}</code></dd>
</dl>
<h3>Proposed arguments</h3><dl id="arguments">${args}</dl>
${taint ? `<h3 class="tainted">Untrusted input</h3><ul id="taint">${taint}</ul><p class="muted">Check these before you approve: they were copied from text the agent read, which anyone could have written.</p>` : ''}
<h3>Why a person is asked</h3>
<p id="policy-reason">${escape(detail.policy.reason)}</p>
<p class="muted">policy ${escape(detail.policy.policyId)} v${escape(detail.policy.version)}${rules ? `, rules ${rules}` : ''}</p>
<h3>The agent's reason</h3><p>${escape(detail.reason)}</p>
<h3>The task</h3>
${detail.taskInput !== undefined ? `<pre id="task-input">${escape(detail.taskInput)}</pre>` : '<p class="muted">The task\'s input was not seen by this inbox.</p>'}
<h4>Steps so far</h4>${history ? `<ol id="history">${history}</ol>` : '<p class="muted">None.</p>'}
<div class="verdict">
<button class="primary answer" id="approve" type="button">Approve <kbd>a</kbd></button>
<textarea id="feedback" placeholder="Feedback for the agent (required to reject)" aria-label="feedback"></textarea>
<button class="danger answer" id="reject" type="button">Reject <kbd>r</kbd></button>
<button class="answer" id="start-edit" type="button">Edit arguments <kbd>e</kbd></button>
</div>
<section id="edit" hidden></section>
<p id="help" hidden><kbd>a</kbd> approve · <kbd>r</kbd> write feedback, then Reject · <kbd>e</kbd> edit · <kbd>u</kbd> back to the queue</p>
<script id="request-data" type="application/json">${jsonForScript({
      approvalId: detail.approvalId,
      arguments: detail.arguments,
      parametersSchema: detail.parametersSchema,
      answerable: detail.answerable,
    })}</script>`,
  );
}
