import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackedKeyFiles, trackedKeysWarning } from './tracked-keys';

/* npm start warns when a key it keeps is tracked by git (issue 16). */
describe('key material tracked by git', () => {
  let repo: string;
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      cwd: repo,
      stdio: 'ignore',
    });

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'leash-tracked-'));
    git('init', '-q');
    mkdirSync(join(repo, '.leash/gate-keys'), { recursive: true });
    mkdirSync(join(repo, '.leash/reviewer-keys'), { recursive: true });
    writeFileSync(join(repo, '.leash/gate-keys/policy.key'), 'id:secret\n');
    writeFileSync(join(repo, '.leash/reviewer-keys/lee.key'), 'pem\n');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  const dirs = () => [join(repo, '.leash/gate-keys'), join(repo, '.leash/reviewer-keys')];

  it('finds nothing while the keys are untracked', () => {
    expect(trackedKeyFiles(dirs())).toEqual([]);
    expect(trackedKeysWarning([])).toEqual([]);
  });

  it('names a key file that was committed, and says how to undo it', () => {
    git('add', '-f', '.leash/gate-keys/policy.key');
    git('commit', '-q', '-m', 'oops');
    const tracked = trackedKeyFiles(dirs());
    expect(tracked).toEqual([join(repo, '.leash/gate-keys/policy.key')]);
    const warning = trackedKeysWarning(tracked).join('\n');
    expect(warning).toContain(`key material is tracked by git: ${tracked[0]}`);
    expect(warning).toContain('git rm --cached');
  });

  it('finds nothing outside a git work tree, or for a directory that is not there', () => {
    const plain = mkdtempSync(join(tmpdir(), 'leash-untracked-'));
    try {
      expect(trackedKeyFiles([plain, join(plain, 'missing')])).toEqual([]);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});
