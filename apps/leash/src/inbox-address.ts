import { dirname, join, resolve } from 'node:path';
import type { Environment } from '@leash/config';

/*
 * Where `npm start` serves the reviewers' inbox, and where it writes that
 * address for the CLI (kept apart from the launcher, so a CLI command loads
 * no service).
 */

export const DEFAULT_INBOX_PORT = 4180;
/** Where the store's directory is, on the embedded engines with a store file. */
export function storeDir(env: Environment): string | undefined {
  const embedded =
    (env.LEASH_BUS ?? 'embedded') === 'embedded' && (env.LEASH_STORE ?? 'sqlite') === 'sqlite';
  const storeFile = env.LEASH_STORE_FILE?.trim() || '.leash/store.db';
  return embedded && storeFile !== ':memory:' ? dirname(resolve(storeFile)) : undefined;
}

/** The file `npm start` writes the inbox's address to, read by `leash reviewers invite`. */
export function inboxAddressFile(env: Environment): string | undefined {
  const dir = storeDir(env);
  return dir !== undefined ? join(dir, 'inbox-url') : undefined;
}
