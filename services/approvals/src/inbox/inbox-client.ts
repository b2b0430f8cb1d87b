/// <reference lib="dom" />

/*
 * The inbox's script, run in the reviewer's browser. One function with no
 * imports and nothing from outside its body: the server sends its source
 * text as /inbox.js (see inbox-page.ts), so the browser runs what the type
 * checker checked, with no bundler and no build step. The server renders
 * every page; this adds the live queue, the countdowns, the keyboard, the
 * verdict buttons and the edit form made from the tool's JSON Schema.
 */
export function inboxClient(): void {
  type Json = Record<string, unknown>;
  interface Item {
    approvalId: string;
    tenantId: string;
    taskId: string;
    agent: { name: string; version: number };
    tool: string;
    riskClass: string;
    amountUsd?: number;
    reviewerGroup: string;
    approvals: number;
    reviewersRequired: number;
    tainted: boolean;
    expiresAt: string;
  }
  interface Schema {
    type?: string | string[];
    properties?: Record<string, Schema>;
    required?: string[];
    enum?: unknown[];
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    exclusiveMaximum?: number;
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    description?: string;
    default?: unknown;
  }

  const body = document.body;
  const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';

  function el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attrs: Record<string, string> = {},
    ...children: (Node | string)[]
  ): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function toast(text: string, bad = false): void {
    const box = document.getElementById('toast');
    if (!box) return;
    box.textContent = text;
    box.className = bad ? 'toast bad' : 'toast';
  }

  function countdown(expiresAt: string): string {
    const left = Math.round((Date.parse(expiresAt) - Date.now()) / 1000);
    if (left <= 0) return 'expired';
    const h = Math.floor(left / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
  }

  function tick(): void {
    for (const node of document.querySelectorAll<HTMLElement>('[data-expires]')) {
      const text = countdown(node.dataset.expires!);
      node.textContent = text;
      node.closest('.row')?.classList.toggle('expired', text === 'expired');
    }
  }
  setInterval(tick, 1000);

  async function sendVerdict(approvalId: string, verdict: Json): Promise<boolean> {
    toast('sending...');
    const response = await fetch(`/api/requests/${encodeURIComponent(approvalId)}/verdict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(verdict),
      credentials: 'same-origin',
    });
    const answer = (await response.json().catch(() => ({}))) as { reason?: string; error?: string };
    if (response.ok) {
      toast(`${String(verdict.verdict)}: accepted. ${answer.reason ?? ''}`);
      body.dataset.answered = String(verdict.verdict);
      return true;
    }
    toast(answer.error ?? `HTTP ${response.status}`, true);
    return false;
  }

  function live(onQueue: (items: Item[]) => void): void {
    const source = new EventSource('/api/events');
    source.addEventListener('queue', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { items: Item[] };
      onQueue(data.items);
    });
    source.addEventListener('open', () => body.classList.add('live'));
    source.addEventListener('error', () => body.classList.remove('live'));
  }

  function keys(bindings: Record<string, () => void>): void {
    document.addEventListener('keydown', (event) => {
      const target = event.target as HTMLElement;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) {
        if (event.key === 'Escape') target.blur();
        return;
      }
      const action = bindings[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }

  // ---- the queue ----
  function queuePage(): void {
    const list = document.getElementById('queue')!;
    let selected = 0;
    let items: Item[] = [];
    const select = (index: number) => {
      const rows = list.querySelectorAll<HTMLElement>('.row');
      if (rows.length === 0) return;
      selected = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach((row, i) => row.classList.toggle('selected', i === selected));
      rows[selected]!.scrollIntoView({ block: 'nearest' });
    };
    const render = (next: Item[]) => {
      const current = items[selected]?.approvalId;
      items = next;
      list.replaceChildren(
        ...next.map((item) =>
          el(
            'a',
            {
              class: 'row',
              href: `/requests/${encodeURIComponent(item.approvalId)}`,
              'data-id': item.approvalId,
            },
            el('span', { class: 'tool' }, item.tool),
            el('span', { class: `risk risk-${item.riskClass}` }, item.riskClass),
            el(
              'span',
              { class: 'amount' },
              item.amountUsd !== undefined ? `$${item.amountUsd.toFixed(2)}` : '',
            ),
            el('span', { class: 'agent' }, `${item.agent.name} · ${item.tenantId}`),
            el('span', { class: 'quorum' }, `${item.approvals} of ${item.reviewersRequired}`),
            el(
              'span',
              { class: 'expiry', 'data-expires': item.expiresAt },
              countdown(item.expiresAt),
            ),
            ...(item.tainted ? [el('span', { class: 'taint' }, 'untrusted input')] : []),
          ),
        ),
      );
      document.getElementById('count')!.textContent = String(next.length);
      document.getElementById('empty')!.hidden = next.length > 0;
      const keep = next.findIndex((item) => item.approvalId === current);
      select(keep >= 0 ? keep : selected);
    };
    live(render);
    const open = () => {
      const item = items[selected];
      if (item) location.href = `/requests/${encodeURIComponent(item.approvalId)}`;
    };
    keys({
      j: () => select(selected + 1),
      ArrowDown: () => select(selected + 1),
      k: () => select(selected - 1),
      ArrowUp: () => select(selected - 1),
      Enter: open,
      o: open,
      a: () => {
        const item = items[selected];
        if (item) void sendVerdict(item.approvalId, { verdict: 'approve' });
      },
      r: () => {
        const item = items[selected];
        if (item) location.href = `/requests/${encodeURIComponent(item.approvalId)}#reject`;
      },
      '?': () => document.getElementById('help')!.toggleAttribute('hidden'),
    });
  }

  // ---- one request ----
  function typeOf(schema: Schema): string {
    const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
    if (schema.enum) return 'enum';
    return type ?? 'json';
  }

  /** What is wrong with one value against its schema; undefined when it fits. */
  function problem(
    name: string,
    value: unknown,
    schema: Schema,
    required: boolean,
  ): string | undefined {
    if (value === undefined || value === '') return required ? `${name} is required` : undefined;
    const type = typeOf(schema);
    if (schema.enum && !schema.enum.includes(value))
      return `${name} must be one of ${schema.enum.join(', ')}`;
    if (type === 'number' || type === 'integer') {
      if (typeof value !== 'number' || Number.isNaN(value)) return `${name} must be a number`;
      if (type === 'integer' && !Number.isInteger(value)) return `${name} must be a whole number`;
      if (schema.minimum !== undefined && value < schema.minimum)
        return `${name} must be at least ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum)
        return `${name} must be at most ${schema.maximum}`;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
        return `${name} must be more than ${schema.exclusiveMinimum}`;
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
        return `${name} must be less than ${schema.exclusiveMaximum}`;
    }
    if (type === 'string') {
      if (typeof value !== 'string') return `${name} must be text`;
      if (schema.minLength !== undefined && value.length < schema.minLength)
        return `${name} must have at least ${schema.minLength} characters`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        return `${name} must have at most ${schema.maxLength} characters`;
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
        return `${name} does not match ${schema.pattern}`;
    }
    if (type === 'boolean' && typeof value !== 'boolean') return `${name} must be true or false`;
    return undefined;
  }

  function editForm(schema: Schema, original: Json, onSend: (args: Json) => void): HTMLElement {
    const form = el('form', { id: 'edit-form', novalidate: '' });
    const readers: Record<string, () => unknown> = {};
    // Kept, not looked up: the form is checked before it is in the document.
    const errorOf: Record<string, HTMLElement> = {};
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    for (const [name, field] of Object.entries(properties)) {
      const id = `arg-${name}`;
      const type = typeOf(field);
      const value = original[name];
      let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
      if (type === 'enum') {
        input = el('select', { id, name });
        for (const option of field.enum ?? [])
          input.append(el('option', { value: String(option) }, String(option)));
        input.value = String(value ?? '');
        readers[name] = () => (input.value === '' ? undefined : input.value);
      } else if (type === 'boolean') {
        const box = el('input', { id, name, type: 'checkbox' });
        box.checked = value === true;
        input = box;
        readers[name] = () => box.checked;
      } else if (type === 'number' || type === 'integer') {
        input = el('input', { id, name, type: 'number', step: type === 'integer' ? '1' : 'any' });
        input.value = value === undefined ? '' : String(value);
        readers[name] = () => (input.value.trim() === '' ? undefined : Number(input.value));
      } else if (type === 'string') {
        input = el('input', { id, name, type: 'text' });
        input.value = typeof value === 'string' ? value : '';
        readers[name] = () => input.value;
      } else {
        input = el('textarea', { id, name, rows: '3' });
        input.value = value === undefined ? '' : JSON.stringify(value, null, 2);
        readers[name] = () => {
          if (input.value.trim() === '') return undefined;
          try {
            return JSON.parse(input.value) as unknown;
          } catch {
            return Symbol.for('invalid');
          }
        };
      }
      errorOf[name] = el('span', { class: 'field-error', id: `${id}-error` });
      form.append(
        el(
          'label',
          { for: id },
          el('span', { class: 'name' }, `${name}${required.has(name) ? ' *' : ''}`),
          el('span', { class: 'hint' }, field.description ?? ''),
        ),
        input,
        errorOf[name],
      );
    }
    const diff = el('div', { id: 'edit-diff', class: 'diff' });
    const send = el('button', { type: 'submit', id: 'send-edit', disabled: '' }, 'Send edit');
    form.append(el('h3', {}, 'Changes'), diff, send);
    const read = (): { args: Json; errors: string[] } => {
      const args: Json = {};
      const errors: string[] = [];
      for (const [name, field] of Object.entries(properties)) {
        const value = readers[name]!();
        const error =
          value === Symbol.for('invalid')
            ? `${name} is not valid JSON`
            : problem(name, value, field, required.has(name));
        errorOf[name]!.textContent = error ?? '';
        if (error) errors.push(error);
        else if (value !== undefined) args[name] = value;
      }
      return { args, errors };
    };
    const update = () => {
      const { args, errors } = read();
      const changed = Object.keys({ ...original, ...args }).filter(
        (name) => JSON.stringify(original[name]) !== JSON.stringify(args[name]),
      );
      diff.replaceChildren(
        ...(changed.length === 0
          ? [el('p', { class: 'muted' }, 'No change yet.')]
          : changed.map((name) =>
              el(
                'div',
                { class: 'diff-line' },
                el('span', { class: 'name' }, name),
                el('del', {}, JSON.stringify(original[name]) ?? '(none)'),
                el('ins', {}, JSON.stringify(args[name]) ?? '(none)'),
              ),
            )),
      );
      send.disabled = errors.length > 0 || changed.length === 0;
      return { args, errors, changed };
    };
    form.addEventListener('input', update);
    form.addEventListener('change', update);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const { args, errors, changed } = update();
      if (errors.length === 0 && changed.length > 0) onSend(args);
    });
    update();
    return form;
  }

  function requestPage(): void {
    const data = JSON.parse(document.getElementById('request-data')!.textContent ?? '{}') as {
      approvalId: string;
      arguments: Json;
      parametersSchema?: Schema;
      answerable: boolean;
    };
    const id = data.approvalId;
    const buttons = Array.from(document.querySelectorAll<HTMLButtonElement>('.verdict button'));
    const close = (why: string) => {
      for (const button of document.querySelectorAll<HTMLButtonElement>(
        'button.answer, #send-edit',
      ))
        button.disabled = true;
      const banner = document.getElementById('closed')!;
      banner.textContent = why;
      banner.hidden = false;
    };
    const feedback = document.getElementById('feedback') as HTMLTextAreaElement;
    const approve = async () => {
      if (await sendVerdict(id, { verdict: 'approve' })) close('You approved this request.');
    };
    const reject = async () => {
      if (feedback.value.trim() === '') {
        feedback.focus();
        toast('Feedback is required to reject: the agent reads it.', true);
        return;
      }
      if (await sendVerdict(id, { verdict: 'reject', feedback: feedback.value.trim() }))
        close('You rejected this request.');
    };
    const editBox = document.getElementById('edit')!;
    const startEdit = () => {
      if (!data.parametersSchema) {
        toast('No parameters are known for this tool; it cannot be edited here.', true);
        return;
      }
      if (!editBox.hasChildNodes()) {
        editBox.append(
          editForm(data.parametersSchema, data.arguments, async (args) => {
            if (await sendVerdict(id, { verdict: 'edit', arguments: args }))
              close('You edited this request: the new arguments go through the gates again.');
          }),
        );
      }
      editBox.hidden = false;
      editBox.querySelector<HTMLElement>('input, select, textarea')?.focus();
    };
    document.getElementById('approve')?.addEventListener('click', () => void approve());
    document.getElementById('reject')?.addEventListener('click', () => void reject());
    document.getElementById('start-edit')?.addEventListener('click', startEdit);
    if (!data.answerable) for (const button of buttons) button.disabled = true;
    if (location.hash === '#reject') feedback.focus();
    keys({
      a: () => void approve(),
      r: () => feedback.focus(),
      e: startEdit,
      u: () => (location.href = '/'),
      Escape: () => (location.href = '/'),
      '?': () => document.getElementById('help')!.toggleAttribute('hidden'),
    });
    live((items) => {
      if (body.dataset.answered || !data.answerable) return;
      if (items.some((item) => item.approvalId === id)) return;
      void fetch(`/api/requests/${encodeURIComponent(id)}`, { credentials: 'same-origin' })
        .then((response) =>
          response.ok
            ? (response.json() as Promise<{ status: string; notAnswerableBecause?: string }>)
            : undefined,
        )
        .then((detail) => {
          if (detail && detail.notAnswerableBecause)
            close(`No longer waiting: ${detail.notAnswerableBecause}.`);
          else if (!detail) close('No longer waiting for you.');
        });
    });
  }

  if (body.dataset.page === 'queue') queuePage();
  if (body.dataset.page === 'request') requestPage();
  tick();
  // The keys work from here on; tests wait for it.
  body.dataset.ready = 'true';
}
