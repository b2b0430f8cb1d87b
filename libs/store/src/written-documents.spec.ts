import { z } from 'zod';
import { defineAggregate } from './aggregate';
import { WrittenDocuments } from './written-documents';

const notes = defineAggregate({
  name: 'note',
  schema: z.object({ noteId: z.string(), text: z.string() }),
  id: (n) => n.noteId,
});
const others = defineAggregate({
  name: 'other',
  schema: z.object({ noteId: z.string(), text: z.string() }),
  id: (n) => n.noteId,
});

describe('WrittenDocuments', () => {
  it('trusts exactly the last text written for an aggregate and id', () => {
    const written = new WrittenDocuments();
    written.remember(notes, 'n1', '{"noteId":"n1","text":"a"}');
    expect(written.wrote(notes, 'n1', '{"noteId":"n1","text":"a"}')).toBe(true);
    expect(written.wrote(notes, 'n1', '{"noteId":"n1","text":"b"}')).toBe(false);
    expect(written.wrote(others, 'n1', '{"noteId":"n1","text":"a"}')).toBe(false);
    expect(written.wrote(notes, 'n2', '{"noteId":"n1","text":"a"}')).toBe(false);

    written.remember(notes, 'n1', '{"noteId":"n1","text":"b"}');
    expect(written.wrote(notes, 'n1', '{"noteId":"n1","text":"a"}')).toBe(false);
    expect(written.wrote(notes, 'n1', '{"noteId":"n1","text":"b"}')).toBe(true);

    written.delete(notes, 'n1');
    expect(written.wrote(notes, 'n1', '{"noteId":"n1","text":"b"}')).toBe(false);
    expect(written.size).toBe(0);
  });

  it('keeps the newest texts within its character budget', () => {
    const written = new WrittenDocuments(1000);
    const text = (i: number) => String(i).padStart(50, 'x');
    for (let i = 0; i < 30; i++) written.remember(notes, `n${i}`, text(i));
    expect(written.size).toBe(20);
    expect(written.wrote(notes, 'n29', text(29))).toBe(true);
    expect(written.wrote(notes, 'n10', text(10))).toBe(true);
    expect(written.wrote(notes, 'n9', text(9))).toBe(false);
  });

  it('does not keep a text too large to share the budget', () => {
    const written = new WrittenDocuments(1600);
    written.remember(notes, 'small', 'abc');
    written.remember(notes, 'huge', 'y'.repeat(101)); // over a sixteenth of the budget
    expect(written.wrote(notes, 'huge', 'y'.repeat(101))).toBe(false);
    expect(written.wrote(notes, 'small', 'abc')).toBe(true);
  });
});
