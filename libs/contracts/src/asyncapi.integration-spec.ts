import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { buildAsyncApiDocument, renderAsyncApiDocument } from './asyncapi';
import { EVENT_TYPES, EVENTS, TOPIC_NAMES } from './topics';

const committedPath = join(__dirname, '..', 'asyncapi.json');
const committed = readFileSync(committedPath, 'utf8');

describe('the committed AsyncAPI document', () => {
  it('is exactly what the registry generates (run `npm run asyncapi` after changing a schema)', () => {
    expect(committed).toBe(renderAsyncApiDocument(buildAsyncApiDocument()));
  });

  it('is a valid AsyncAPI 3 document', async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
  });

  it('has a channel for every topic and a message for every event type, on the right channel', async () => {
    const { document } = await new Parser().parse(committed);
    const channels = document!.channels().all();
    expect(channels.map((c) => c.address()).sort()).toEqual(
      TOPIC_NAMES.map((t) => `leash.${t}`).sort(),
    );
    for (const type of EVENT_TYPES) {
      const channel = channels.find((c) => c.address() === `leash.${EVENTS[type].topic}`);
      const names = channel!
        .messages()
        .all()
        .map((m) => m.name());
      expect(names).toContain(type);
    }
  });

  it('fails the check when a schema drifts from the committed document', () => {
    const drifted = JSON.parse(committed);
    drifted.components.messages.leash_tasks_requested_v1.payload.required = [];
    expect(renderAsyncApiDocument(drifted)).not.toBe(
      renderAsyncApiDocument(buildAsyncApiDocument()),
    );
  });

  it('reports an invalid document, so the validity check can fail', async () => {
    const broken = JSON.parse(committed);
    broken.channels.tasksRequested.messages.leash_tasks_requested_v1 = { $ref: '#/nowhere' };
    const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
    expect(diagnostics.some((d) => d.severity === DiagnosticSeverity.Error)).toBe(true);
  });
});
