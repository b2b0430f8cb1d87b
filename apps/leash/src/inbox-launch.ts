import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig, type Environment } from '@leash/config';
import type { Engines } from '@leash/engines';
import { APPROVALS_ENV } from '@leash/service-approvals';
import { startInbox, type RunningInbox } from '@leash/service-approvals/inbox';
import { generateVerdictKeyPair } from '@leash/signing';
import { ensureReviewerKey } from './cli/reviewer-keys';
import { DEFAULT_INBOX_PORT, inboxAddressFile, storeDir } from './inbox-address';

/*
 * The reviewers' inbox as `npm start` serves it: on port 4180 unless
 * LEASH_INBOX_PORT says otherwise (a free port when 4180 is taken and none
 * was asked for), signing verdicts with a front-end key kept beside the
 * store. Its address is
 * written beside the store too, so `leash reviewers invite` prints links
 * that open it.
 */

/**
 * The inbox's variables `npm start` fills in when unset: its port, and its
 * front-end key (kept as inbox.key beside the store, or made for this
 * process alone on a store in memory). The approvals service trusts the
 * inbox it serves (trustedFrontEnds), so nothing else is needed.
 */
export function inboxLauncherEnv(env: Environment): Environment {
  const added: Record<string, string> = {};
  if (env.LEASH_INBOX_PORT === undefined) added.LEASH_INBOX_PORT = String(DEFAULT_INBOX_PORT);
  if (env.LEASH_INBOX_SIGNING_KEY === undefined && env.LEASH_INBOX_SIGNING_KEY_FILE === undefined) {
    const dir = storeDir(env);
    if (dir !== undefined) {
      const file = join(dir, 'inbox.key');
      ensureReviewerKey(file);
      added.LEASH_INBOX_SIGNING_KEY_FILE = file;
    } else {
      added.LEASH_INBOX_SIGNING_KEY = generateVerdictKeyPair().privateKeyPem;
    }
  }
  return { ...env, ...added };
}

/** Starts the inbox on the launcher's engines; falls back to a free port when 4180 is taken. */
export async function launchInbox(
  engines: Engines,
  env: Environment,
  portWasAsked: boolean,
): Promise<RunningInbox> {
  const config = loadConfig(APPROVALS_ENV, { env, subject: 'approvals' });
  let inbox: RunningInbox;
  try {
    inbox = await startInbox({ bus: engines.bus, store: engines.store, config });
  } catch (error) {
    if (portWasAsked || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const free = loadConfig(APPROVALS_ENV, {
      env: { ...env, LEASH_INBOX_PORT: '0' },
      subject: 'approvals',
    });
    inbox = await startInbox({ bus: engines.bus, store: engines.store, config: free });
  }
  const file = inboxAddressFile(env);
  if (file !== undefined) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${inbox.url}\n`);
  }
  return inbox;
}
