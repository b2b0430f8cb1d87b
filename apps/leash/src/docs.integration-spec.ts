import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

/** Relative Markdown links `[text](path)` of a file, without anchors. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1].split('#')[0])
    .filter((target) => target !== '' && !/^[a-z]+:/i.test(target));
}

/*
 * The design lives in the repository, and the README points to it: a fresh
 * clone has every document the README sends a newcomer to.
 */
describe('the documentation a fresh clone has', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('the README links the design in docs/, which exists', () => {
    expect(relativeLinks(readme)).toContain('docs/design.md');
    expect(existsSync(join(ROOT, 'docs', 'design.md'))).toBe(true);
  });

  it('the README and the design send no one outside the repository', () => {
    const services = ['approvals', 'audit', 'budget', 'executor', 'planner', 'policy'];
    for (const file of [
      'README.md',
      'docs/design.md',
      ...services.map((s) => `services/${s}/README.md`),
    ]) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect({
        file,
        outside: text.match(/\.\.\/shared\/[\w./-]+|in the shared docs/g) ?? [],
      }).toEqual({
        file,
        outside: [],
      });
      for (const target of relativeLinks(text)) {
        const path = resolve(dirname(join(ROOT, file)), target);
        expect({ file, target, inside: path.startsWith(ROOT), exists: existsSync(path) }).toEqual({
          file,
          target,
          inside: true,
          exists: true,
        });
      }
    }
  });

  it('the README says what the demo does with the injected password reset', () => {
    const flat = readme.replace(/\s+/g, ' ');
    // The demo routes it to two IT reviewers and prints their approve commands: not "never run".
    expect(flat).not.toMatch(/executive's password \(never run\)/);
    expect(flat).toContain('the reset waits for two IT reviewers (`it-service-desk`)');
    expect(flat).toContain('tainted');
    expect(flat).toContain('pasting both runs the reset');
  });

  it('the design says what is not built yet', () => {
    const design = readFileSync(join(ROOT, 'docs', 'design.md'), 'utf8');
    expect(design).toMatch(/^## Not built yet$/m);
    expect(design).toMatch(/MongoDB adapter/);
  });
});
