import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The files under `dirs` (key directories) that git tracks: key material that
 * anyone with the repository holds. Empty outside a git work tree, where git is
 * missing, or for a directory that does not exist.
 */
export function trackedKeyFiles(dirs: readonly string[]): string[] {
  const tracked: string[] = [];
  for (const dir of dirs.map((d) => resolve(d))) {
    if (!existsSync(dir)) continue;
    try {
      const listed = execFileSync('git', ['ls-files', '-z', '--', '.'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5_000,
      });
      for (const file of listed.split('\0').filter(Boolean)) tracked.push(resolve(dir, file));
    } catch {
      // Not a git work tree, or no git: nothing can be tracked.
    }
  }
  return tracked;
}

/** What npm start says when it finds key material tracked by git. */
export function trackedKeysWarning(files: readonly string[]): string[] {
  if (files.length === 0) return [];
  return [
    `WARNING: key material is tracked by git: ${files.join(', ')}`,
    '  anyone with the repository holds these keys. Remove them from git (git rm --cached <file>),',
    '  then rotate them: delete the files and restart (npm start makes new ones).',
  ];
}
