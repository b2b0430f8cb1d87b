import { readFileSync } from 'node:fs';
import { ConfigError } from '@leash/config';
import { verdictSigningKey, type VerdictSigningKey } from '@leash/signing';
import type { TrustedFrontEnd } from '../reviewers/trusted-front-end';
import type { InboxConfig } from './inbox.config';

type InboxKeyConfig = Pick<
  InboxConfig,
  | 'LEASH_INBOX_PORT'
  | 'LEASH_INBOX_SIGNING_KEY'
  | 'LEASH_INBOX_SIGNING_KEY_FILE'
  | 'LEASH_INBOX_FRONT_END_NAME'
>;

/** The inbox's front-end key, from LEASH_INBOX_SIGNING_KEY or its _FILE; a ConfigError naming it otherwise. */
export function inboxSigningKey(config: InboxKeyConfig): VerdictSigningKey {
  const variable =
    config.LEASH_INBOX_SIGNING_KEY !== undefined
      ? 'LEASH_INBOX_SIGNING_KEY'
      : 'LEASH_INBOX_SIGNING_KEY_FILE';
  const fail = (message: string) => new ConfigError('approvals', [{ variable, message }]);
  let pem = config.LEASH_INBOX_SIGNING_KEY;
  if (pem === undefined) {
    const file = config.LEASH_INBOX_SIGNING_KEY_FILE;
    if (file === undefined) {
      throw new ConfigError('approvals', [
        {
          variable: 'LEASH_INBOX_SIGNING_KEY',
          message:
            'LEASH_INBOX_SIGNING_KEY (or LEASH_INBOX_SIGNING_KEY_FILE) is required to serve the inbox (LEASH_INBOX_PORT is set): it signs the verdicts of the reviewers it signs in',
        },
      ]);
    }
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw fail(`LEASH_INBOX_SIGNING_KEY_FILE ${file}: ${(error as Error).message}`);
    }
  }
  try {
    return verdictSigningKey(pem, { frontEnd: config.LEASH_INBOX_FRONT_END_NAME });
  } catch {
    throw fail(`${variable} (secret value hidden) is not an Ed25519 private key in PKCS#8 PEM`);
  }
}

/**
 * The front ends the approval gate trusts: those configured, and the inbox
 * this process serves (LEASH_INBOX_PORT set), under its own key. The inbox
 * runs inside the approvals service, so trusting it is trusting the service's
 * own configuration; an inbox elsewhere is listed in LEASH_REVIEWER_FRONT_ENDS.
 */
export function trustedFrontEnds(
  configured: readonly TrustedFrontEnd[],
  config: Partial<InboxKeyConfig>,
): TrustedFrontEnd[] {
  if (config.LEASH_INBOX_PORT === undefined) return [...configured];
  const key = inboxSigningKey(config as InboxKeyConfig);
  const name = key.frontEnd!;
  if (configured.some((f) => f.name === name)) return [...configured];
  return [...configured, { name, publicKey: key.publicKey }];
}
