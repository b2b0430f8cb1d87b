import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateGateKey, publicKeyOf, type GateSigningKey, type KeyHolder } from './gate-keys';

/** Where a gate's (or the operators') key pair is kept as files, as a deployment mounts them. */
export interface GateKeyFiles {
  /** `<keyDir>/<gate>.key`: `id:<base64 PKCS#8 DER>`, mode 0600; for the gate alone. */
  readonly privateFile: string;
  /** `<publicDir>/<gate>.pub`: `id:<base64 SPKI DER>`, for every process that checks the gate. */
  readonly publicFile: string;
  /** The key id, named in every signature the gate makes (not secret). */
  readonly keyId: string;
  /** True when this call made the key; false when it was there already and is kept. */
  readonly made: boolean;
}

/**
 * The gate's key pair as files, made on first use and kept after that: an
 * existing private key is never replaced (what it signed must keep verifying),
 * and its public file is written again from it, so the two always match.
 * Processes racing to make the same key end up with one. A private key file
 * that does not read as a key is an error naming the file; nothing is written.
 */
export function keepGateKeyFiles(
  gate: KeyHolder,
  dirs: { readonly keyDir: string; readonly publicDir?: string },
): GateKeyFiles {
  const privateFile = join(dirs.keyDir, `${gate}.key`);
  const publicFile = join(dirs.publicDir ?? dirs.keyDir, `${gate}.pub`);
  mkdirSync(dirs.keyDir, { recursive: true, mode: 0o700 });
  let key = readKey(privateFile);
  let made = false;
  if (key === undefined) {
    const fresh = generateGateKey(
      `${gate}-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`,
    ).signingKey;
    try {
      writeFileSync(privateFile, `${fresh.id}:${fresh.privateKey}\n`, { mode: 0o600, flag: 'wx' });
      key = fresh;
      made = true;
    } catch (error) {
      // Another process made it first: keep theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      key = readKey(privateFile)!;
    }
  }
  let publicKey;
  try {
    publicKey = publicKeyOf(key);
  } catch (error) {
    throw new Error(
      `${privateFile} is not a gate signing key (id:<base64 PKCS#8 DER>): ${(error as Error).message}`,
    );
  }
  mkdirSync(dirs.publicDir ?? dirs.keyDir, { recursive: true });
  writeFileSync(publicFile, `${publicKey.id}:${publicKey.publicKey}\n`, { mode: 0o644 });
  return { privateFile, publicFile, keyId: key.id, made };
}

/** The key in `file`, or undefined when there is no such file. */
function readKey(file: string): GateSigningKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) {
    throw new Error(`${file} is not a gate signing key (id:<base64 PKCS#8 DER>)`);
  }
  return { id: text.slice(0, colon), privateKey: text.slice(colon + 1) };
}
