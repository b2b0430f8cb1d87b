import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Requirement } from './env-spec';
import { variable } from './variables';

/*
 * Each gate signs with its own Ed25519 private key, held by that service
 * alone; every checker holds only the public keys of the gates it checks.
 * A key is named by an id, which every signature carries instead of the key.
 */

/** A gate's private key: `id:<base64 PKCS#8 DER>`. */
export interface GateSigningKeyConfig {
  readonly id: string;
  readonly privateKey: string;
}

/** A gate's public key: `id:<base64 SPKI DER>`, with `:<ISO time>` once it is retired. */
export interface GatePublicKeyConfig {
  readonly id: string;
  readonly publicKey: string;
  readonly retiredAt?: string;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

type Problem = (message: string) => never;

function parseSigningKey(text: string, problem: Problem): GateSigningKeyConfig {
  const entry = text.trim();
  const colon = entry.indexOf(':');
  const id = entry.slice(0, colon);
  const privateKey = entry.slice(colon + 1);
  if (colon < 1 || !KEY_ID.test(id) || !BASE64.test(privateKey)) {
    return problem('not id:<base64 PKCS#8 DER>');
  }
  try {
    const key = createPrivateKey({
      key: Buffer.from(privateKey, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    if (key.asymmetricKeyType !== 'ed25519') return problem(`key ${id} is not an Ed25519 key`);
  } catch {
    return problem(`key ${id} is not a PKCS#8 private key`);
  }
  return { id, privateKey };
}

function parsePublicKeys(text: string, problem: Problem): GatePublicKeyConfig[] {
  const keys: GatePublicKeyConfig[] = [];
  for (const entry of text.split(/[,\n]/).map((part) => part.trim())) {
    if (entry === '') continue;
    const [id = '', publicKey = '', ...rest] = entry.split(':');
    const retiredAt = rest.length > 0 ? rest.join(':') : undefined;
    if (!KEY_ID.test(id) || !BASE64.test(publicKey)) {
      return problem('an entry is not id:<base64 SPKI DER>[:<retired at, ISO 8601>]');
    }
    try {
      const key = createPublicKey({
        key: Buffer.from(publicKey, 'base64'),
        format: 'der',
        type: 'spki',
      });
      if (key.asymmetricKeyType !== 'ed25519') return problem(`key ${id} is not an Ed25519 key`);
    } catch {
      return problem(`key ${id} is not an SPKI public key`);
    }
    if (retiredAt !== undefined && !/^\d{4}-\d\d-\d\dT/.test(retiredAt)) {
      return problem(`key ${id}: retired at "${retiredAt}" is not an ISO 8601 time`);
    }
    if (retiredAt !== undefined && Number.isNaN(Date.parse(retiredAt))) {
      return problem(`key ${id}: retired at "${retiredAt}" is not an ISO 8601 time`);
    }
    if (keys.some((key) => key.id === id)) return problem(`key id ${id} appears twice`);
    keys.push({ id, publicKey, ...(retiredAt !== undefined ? { retiredAt } : {}) });
  }
  if (keys.length === 0) return problem('no key');
  return keys;
}

function readKeyFile(path: string, problem: Problem): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return problem(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function parsing<T>(parse: (text: string, problem: Problem) => T, fromFile: boolean) {
  return z.string().transform((value, ctx): T => {
    const problem: Problem = (message) => {
      ctx.addIssue({ code: 'custom', message });
      throw new InvalidKey();
    };
    try {
      return parse(fromFile ? readKeyFile(value.trim(), problem) : value, problem);
    } catch (error) {
      if (error instanceof InvalidKey) return z.NEVER;
      throw error;
    }
  });
}

class InvalidKey extends Error {}

const SIGNING_KEY_FORM = 'id:<base64 PKCS#8 DER of an Ed25519 private key>';
const PUBLIC_KEYS_FORM =
  'a comma-separated list of id:<base64 SPKI DER of an Ed25519 public key>, each with :<ISO 8601 time> once retired, ids distinct';

function signingKeyVariables(gate: string, signs: string) {
  return {
    value: variable(parsing(parseSigningKey, false).optional(), {
      description: `The ${gate} gate's private key, which signs ${signs}; held by the ${gate} service alone. To rotate, give the new key here and add its public key to every checker before the old one is retired.`,
      expected: SIGNING_KEY_FORM,
      secret: true,
    }),
    file: variable(parsing(parseSigningKey, true).optional(), {
      description: `A file holding the ${gate} gate's private key, in the form the variable without _FILE takes.`,
      expected: 'a file path',
    }),
  };
}

function publicKeyVariables(gate: string, signs: string) {
  return {
    value: variable(parsing(parsePublicKeys, false).optional(), {
      description: `The ${gate} gate's public keys, to check ${signs} with. Every key not retired verifies; a key is retired from the time after its second colon, so rotation overlaps.`,
      expected: PUBLIC_KEYS_FORM,
    }),
    file: variable(parsing(parsePublicKeys, true).optional(), {
      description: `A file of the ${gate} gate's public keys, one per line or comma-separated, in the form the variable without _FILE takes.`,
      expected: 'a file path',
    }),
  };
}

const policyKey = signingKeyVariables('policy', 'its decisions');
const budgetKey = signingKeyVariables('budget', 'its grants');
const approvalsKey = signingKeyVariables(
  'approvals',
  "reviewers' approvals and its rejections of what reviewers stopped",
);
const policyPublic = publicKeyVariables('policy', 'policy decisions');
const budgetPublic = publicKeyVariables('budget', 'budget grants');
const approvalsPublic = publicKeyVariables('approvals', 'approvals and approval rejections');

/** The policy service signs decisions with this; no other service declares it. */
export const POLICY_SIGNING_KEY_ENV = {
  LEASH_POLICY_SIGNING_KEY: policyKey.value,
  LEASH_POLICY_SIGNING_KEY_FILE: policyKey.file,
};
export const BUDGET_SIGNING_KEY_ENV = {
  LEASH_BUDGET_SIGNING_KEY: budgetKey.value,
  LEASH_BUDGET_SIGNING_KEY_FILE: budgetKey.file,
};
export const APPROVALS_SIGNING_KEY_ENV = {
  LEASH_APPROVALS_SIGNING_KEY: approvalsKey.value,
  LEASH_APPROVALS_SIGNING_KEY_FILE: approvalsKey.file,
};

/** For each checker of policy decisions (approvals, executor). */
export const POLICY_PUBLIC_KEYS_ENV = {
  LEASH_POLICY_PUBLIC_KEYS: policyPublic.value,
  LEASH_POLICY_PUBLIC_KEYS_FILE: policyPublic.file,
};
/** For each checker of budget grants (approvals, executor). */
export const BUDGET_PUBLIC_KEYS_ENV = {
  LEASH_BUDGET_PUBLIC_KEYS: budgetPublic.value,
  LEASH_BUDGET_PUBLIC_KEYS_FILE: budgetPublic.file,
};
/** For each checker of approvals and approval rejections (executor, budget). */
export const APPROVALS_PUBLIC_KEYS_ENV = {
  LEASH_APPROVALS_PUBLIC_KEYS: approvalsPublic.value,
  LEASH_APPROVALS_PUBLIC_KEYS_FILE: approvalsPublic.file,
};

/*
 * The operators' key signs releases and routing changes (`leash release`,
 * `leash policy publish`); every service applies them only with a valid
 * signature, so no service can publish a release for the operators.
 */

/** For the CLI of an operator who makes releases. */
export const OPERATOR_SIGNING_KEY_ENV = {
  LEASH_OPERATOR_SIGNING_KEY: variable(parsing(parseSigningKey, false).optional(), {
    description:
      "The operators' private key, which signs releases and routing changes; held where operators run `leash release`, never by a service. On the embedded engines it is made once beside the store (gate-keys/operator.key) when not given.",
    expected: SIGNING_KEY_FORM,
    secret: true,
  }),
  LEASH_OPERATOR_SIGNING_KEY_FILE: variable(parsing(parseSigningKey, true).optional(), {
    description:
      "A file holding the operators' private key (`leash gate-keys --dir D` makes D/operator.key), in the form the variable without _FILE takes.",
    expected: 'a file path',
  }),
};

/** For every service: each applies releases, and only those an operator signed. */
export const OPERATOR_PUBLIC_KEYS_ENV = {
  LEASH_OPERATOR_PUBLIC_KEYS: variable(parsing(parsePublicKeys, false).optional(), {
    description:
      "The operators' public keys: a release or routing change is applied only when one of them verifies its signature; with none, every release event is refused (the canary watch's rollback of a canary aside). A retired key still verifies what it signed before its retirement time; remove a key that may have leaked.",
    expected: PUBLIC_KEYS_FORM,
  }),
  LEASH_OPERATOR_PUBLIC_KEYS_FILE: variable(parsing(parsePublicKeys, true).optional(), {
    description:
      "A file of the operators' public keys (`leash gate-keys` writes P/operator.pub), one per line or comma-separated, in the form the variable without _FILE takes.",
    expected: 'a file path',
  }),
};

/** A value or its _FILE, exactly one: add to the spec that declares the pair. */
export function keyRequirement(name: string): Requirement {
  return { variable: name, unless: `${name}_FILE` };
}

/** The key a value/_FILE pair gave; the requirement made sure there is one. */
export function keyFrom<T>(value: T | undefined, file: T | undefined, name: string): T {
  const key = value ?? file;
  if (key === undefined) throw new Error(`${name} (or ${name}_FILE) is not set`);
  return key;
}
