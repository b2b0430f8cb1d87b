import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Environment } from '@leash/config';

/**
 * `npm start` must run on a fresh clone with no setup, but every gate signs
 * with LEASH_SIGNING_KEYS. On the embedded engines only, when the variable is
 * unset, a key is generated once and kept beside the store file (mode 0600),
 * so decisions signed before a restart still verify after it. A distributed
 * deployment (Kafka or MongoDB) must set the variable: nothing is generated.
 */
export function withDevSigningKey(env: Environment): { env: Environment; generatedAt?: string } {
  if (env.LEASH_SIGNING_KEYS?.trim()) return { env };
  const embedded =
    (env.LEASH_BUS ?? 'embedded') === 'embedded' && (env.LEASH_STORE ?? 'sqlite') === 'sqlite';
  if (!embedded) return { env };
  const storeFile = env.LEASH_STORE_FILE?.trim() || '.leash/store.db';
  if (storeFile === ':memory:') {
    return { env: { ...env, LEASH_SIGNING_KEYS: `dev:${randomBytes(32).toString('hex')}` } };
  }
  const file = join(dirname(resolve(storeFile)), 'signing-keys');
  let ring: string;
  try {
    ring = readFileSync(file, 'utf8').trim();
  } catch {
    ring = `dev:${randomBytes(32).toString('hex')}`;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${ring}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { env: { ...env, LEASH_SIGNING_KEYS: ring }, generatedAt: file };
}
