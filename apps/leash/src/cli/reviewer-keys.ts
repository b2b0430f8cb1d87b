import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { variable, type Environment } from '@leash/config';
import {
  generateVerdictKeyPair,
  verdictPublicKeyPem,
  verdictSigningKey,
  type VerdictSigningKey,
} from '@leash/signing';

/*
 * Where reviewers' private keys live on this machine. Beside the store on the
 * embedded engines (where `npm start` writes the demo reviewers' keys, so the
 * CLI finds them from the same directory), in ~/.leash otherwise: a reviewer
 * of a distributed deployment keeps their key on their own machine.
 */

export const REVIEWER_KEYS_ENV = {
  LEASH_REVIEWER_KEYS_DIR: variable(z.string().trim().min(1).optional(), {
    description:
      "Where reviewers' private keys are kept (keygen writes them, approvals approve|reject|edit read them): <dir>/<reviewer>.key. Default: reviewer-keys beside LEASH_STORE_FILE on SQLite, ~/.leash/reviewer-keys otherwise.",
    expected: 'a directory path',
  }),
};

/** What the key location depends on: the store's variables and LEASH_REVIEWER_KEYS_DIR. */
export type KeyLocationConfig = Readonly<{
  LEASH_STORE?: string;
  LEASH_STORE_FILE?: string;
  LEASH_REVIEWER_KEYS_DIR?: string;
}>;

export function reviewerKeysDir(config: KeyLocationConfig | Environment): string {
  if (config.LEASH_REVIEWER_KEYS_DIR?.trim()) return resolve(config.LEASH_REVIEWER_KEYS_DIR.trim());
  const store = config.LEASH_STORE ?? 'sqlite';
  const file = config.LEASH_STORE_FILE?.trim() || '.leash/store.db';
  if (store === 'sqlite' && file !== ':memory:') {
    return join(dirname(resolve(file)), 'reviewer-keys');
  }
  return join(homedir(), '.leash', 'reviewer-keys');
}

/** A reviewer's name as a file name: as it is when that is safe, else percent-encoded. */
function fileNameOf(reviewer: string): string {
  return /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/.test(reviewer)
    ? reviewer
    : encodeURIComponent(reviewer).replace(/^\./, '%2E');
}

/** The default private key file of a reviewer. */
export function reviewerKeyFile(config: KeyLocationConfig | Environment, reviewer: string): string {
  return join(reviewerKeysDir(config), `${fileNameOf(reviewer)}.key`);
}

/** The public key file written beside a private key file. */
export function publicKeyFileOf(keyFile: string): string {
  return keyFile.endsWith('.key') ? `${keyFile.slice(0, -4)}.pub` : `${keyFile}.pub`;
}

/** A key file that cannot be used; the message names the file and what to do. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

export interface WrittenKey {
  readonly keyFile: string;
  readonly publicKeyFile: string;
  readonly publicKey: string;
  readonly keyId: string;
}

/**
 * Makes a key pair and writes the private key (mode 0600, its directory 0700)
 * and the public key beside it. Refuses to overwrite a key file unless told:
 * a lost private key cannot sign again.
 */
export function writeReviewerKey(
  keyFile: string,
  options: { overwrite?: boolean } = {},
): WrittenKey {
  const pair = generateVerdictKeyPair();
  const dir = dirname(keyFile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(keyFile, pair.privateKeyPem, {
      mode: 0o600,
      flag: options.overwrite ? 'w' : 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(
        `${keyFile} exists; it is kept (pass --force to replace it, then revoke the old key)`,
      );
    }
    throw error;
  }
  // writeFileSync's mode applies only when it creates the file.
  chmodSync(keyFile, 0o600);
  const publicKeyFile = publicKeyFileOf(keyFile);
  writeFileSync(publicKeyFile, verdictPublicKeyPem(pair.publicKey), { mode: 0o644 });
  return { keyFile, publicKeyFile, publicKey: pair.publicKey, keyId: pair.keyId };
}

/** Reads a reviewer's private key file; throws KeyFileError naming the file and the fix. */
export function readReviewerKey(keyFile: string, reviewer: string): VerdictSigningKey {
  let text: string;
  try {
    text = readFileSync(keyFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(
      code === 'ENOENT'
        ? `no key file for reviewer ${reviewer} at ${keyFile}: make one with ` +
            `leash reviewers keygen --reviewer ${reviewer}, register its public key with ` +
            `leash reviewers add --reviewer ${reviewer} --group G --public-key @${publicKeyFileOf(keyFile)}, ` +
            'or pass --key-file F'
        : `cannot read the key file ${keyFile}: ${(error as Error).message}`,
    );
  }
  try {
    return verdictSigningKey(text);
  } catch (error) {
    throw new KeyFileError(
      `${keyFile} is not an Ed25519 private key (PKCS#8 PEM, as leash reviewers keygen writes): ${(error as Error).message}`,
    );
  }
}

/**
 * Reads the reviewer's key file, or makes one when there is none: for the
 * demo reviewers `npm start` seeds on the embedded engines. Returns the
 * public key; the private key stays in the file.
 */
export function ensureReviewerKey(keyFile: string): { publicKey: string; keyId: string } {
  try {
    const { publicKey, keyId } = writeReviewerKey(keyFile);
    return { publicKey, keyId };
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
  }
  const { publicKey, keyId } = readReviewerKey(keyFile, keyFile);
  return { publicKey, keyId };
}
