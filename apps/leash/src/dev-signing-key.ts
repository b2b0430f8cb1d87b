import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Environment } from '@leash/config';
import {
  KEY_HOLDERS,
  generateGateKey,
  publicKeyOf,
  type GatePublicKey,
  type GateSigningKey,
  type KeyHolder,
} from '@leash/signing';

/**
 * `npm start` must run on a fresh clone with no setup, but each gate signs
 * with its own private key and the others check with its public key. On the
 * embedded engines only, a gate whose private key is not configured gets a
 * key pair generated once and kept beside the store file (`gate-keys/<gate>.key`,
 * mode 0600), so what was signed before a restart still verifies after it.
 * Every gate's public keys, when not configured, are derived from its private
 * key: in one process every service shares one environment anyway. The
 * operators' key, which signs releases, is kept there too (operator.key),
 * so the CLI on the same store signs what the services accept. A
 * distributed deployment (Kafka or MongoDB) must configure each key: nothing
 * is generated. Nothing secret is printed.
 */
export function withDevSigningKeys(
  env: Environment,
  holders: readonly KeyHolder[] = KEY_HOLDERS,
): { env: Environment; generatedIn?: string } {
  const embedded =
    (env.LEASH_BUS ?? 'embedded') === 'embedded' && (env.LEASH_STORE ?? 'sqlite') === 'sqlite';
  const storeFile = env.LEASH_STORE_FILE?.trim() || '.leash/store.db';
  const dir = storeFile === ':memory:' ? undefined : join(dirname(resolve(storeFile)), 'gate-keys');
  const added: Record<string, string> = {};
  let generated = false;
  for (const gate of holders) {
    const name = `LEASH_${gate.toUpperCase()}`;
    let key = configuredKey(env, `${name}_SIGNING_KEY`);
    if (key === undefined && !isSet(env, `${name}_SIGNING_KEY_FILE`) && embedded) {
      key = dir ? keptKey(dir, gate) : generateGateKey(devKeyId(gate)).signingKey;
      added[`${name}_SIGNING_KEY`] = `${key.id}:${key.privateKey}`;
      generated = true;
    }
    const pub = key && publicOf(key);
    if (pub && !isSet(env, `${name}_PUBLIC_KEYS`) && !isSet(env, `${name}_PUBLIC_KEYS_FILE`)) {
      added[`${name}_PUBLIC_KEYS`] = `${pub.id}:${pub.publicKey}`;
    }
  }
  return {
    env: { ...env, ...added },
    ...(generated && dir ? { generatedIn: dir } : {}),
  };
}

function isSet(env: Environment, name: string): boolean {
  return (env[name]?.trim() ?? '') !== '';
}

/** The private key given in a variable or its _FILE, when it reads as one; config reports it otherwise. */
function configuredKey(env: Environment, name: string): GateSigningKey | undefined {
  let text = env[name]?.trim();
  const file = env[`${name}_FILE`]?.trim();
  if (!text && file) {
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  return text ? keyOf(text) : undefined;
}

function keyOf(text: string): GateSigningKey {
  const colon = text.indexOf(':');
  return { id: text.slice(0, colon), privateKey: text.slice(colon + 1) };
}

/** Undefined for a malformed key: config names the variable and the problem. */
function publicOf(key: GateSigningKey): GatePublicKey | undefined {
  try {
    return publicKeyOf(key);
  } catch {
    return undefined;
  }
}

function devKeyId(gate: KeyHolder): string {
  return `${gate}-dev-${randomBytes(4).toString('hex')}`;
}

/** The gate's key kept in `dir`, made on first use. */
function keptKey(dir: string, gate: KeyHolder): GateSigningKey {
  const file = join(dir, `${gate}.key`);
  try {
    return keyOf(readFileSync(file, 'utf8').trim());
  } catch {
    const key = generateGateKey(devKeyId(gate)).signingKey;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, `${key.id}:${key.privateKey}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process starting on the same store made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return keyOf(readFileSync(file, 'utf8').trim());
    }
    return key;
  }
}
