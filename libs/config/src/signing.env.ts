import { z } from 'zod';
import { variable } from './variables';

/** One HMAC key of the ring that signs and verifies gate decisions, grants and approvals. */
export interface SigningKeyConfig {
  readonly id: string;
  readonly secret: string;
}

/** `id:secret,id:secret`: the first key signs, every key verifies, so keys can be rotated. */
export function signingKeyRing() {
  return z.string().transform((value, ctx): SigningKeyConfig[] => {
    const keys: SigningKeyConfig[] = [];
    for (const entry of value.split(',').map((part) => part.trim())) {
      if (entry === '') continue;
      const colon = entry.indexOf(':');
      const id = entry.slice(0, colon).trim();
      const secret = entry.slice(colon + 1);
      if (colon < 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
        ctx.addIssue({ code: 'custom', message: 'an entry is not id:secret' });
        return z.NEVER;
      }
      if (Buffer.byteLength(secret) < 32) {
        ctx.addIssue({ code: 'custom', message: `key ${id} is shorter than 32 bytes` });
        return z.NEVER;
      }
      if (keys.some((key) => key.id === id)) {
        ctx.addIssue({ code: 'custom', message: `key id ${id} appears twice` });
        return z.NEVER;
      }
      keys.push({ id, secret });
    }
    if (keys.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'no key' });
      return z.NEVER;
    }
    return keys;
  });
}

/**
 * The key ring every gate shares: policy signs decisions, budget signs grants,
 * approvals signs approvals, and the executor verifies all three. One
 * declaration, so the all-in-one launcher can merge the services' variables.
 */
export const SIGNING_ENV = {
  LEASH_SIGNING_KEYS: variable(signingKeyRing(), {
    description:
      'HMAC keys that sign gate decisions, budget grants and approvals, as id:secret pairs; the first signs, all verify, so a key can be rotated. Never sent on the bus.',
    expected: 'a comma-separated list of id:secret, each secret at least 32 bytes, ids distinct',
    secret: true,
  }),
};
