import type { Environment } from '@leash/config';
import { ensureReviewerKey, reviewerKeyFile, reviewerKeysDir } from '../cli/reviewer-keys';
import { DEMO_REVIEWERS, type DemoReviewer } from './demo-reviewers';

/** A demo reviewer as the directory gets it: with the public key of their key file. */
export interface KeyedDemoReviewer extends DemoReviewer {
  readonly keys: readonly { readonly publicKey: string }[];
}

/**
 * The demo reviewers with keys, so the approvals the demo prints can be
 * answered (`bin/leash approvals approve ID --reviewer ana...` signs with
 * the key file it finds by default). On the embedded engines with a store
 * file only: each reviewer's key is made once, beside the store (mode 0600),
 * and read back on later starts. Elsewhere the demo reviewers get no key and
 * can answer only through a trusted front end: a distributed deployment
 * registers real reviewers and their keys (leash reviewers add).
 */
export function demoReviewersWithKeys(env: Environment): {
  readonly reviewers: readonly (DemoReviewer | KeyedDemoReviewer)[];
  readonly keysDir?: string;
} {
  const keysDir = demoReviewerKeysDir(env);
  if (keysDir === undefined) return { reviewers: DEMO_REVIEWERS };
  const reviewers = DEMO_REVIEWERS.map((reviewer) => ({
    ...reviewer,
    keys: [{ publicKey: ensureReviewerKey(reviewerKeyFile(env, reviewer.reviewer)).publicKey }],
  }));
  return { reviewers, keysDir };
}

/** Where `npm start` keeps the demo reviewers' keys; undefined when it makes none. */
export function demoReviewerKeysDir(env: Environment): string | undefined {
  const embedded =
    (env.LEASH_BUS ?? 'embedded') === 'embedded' && (env.LEASH_STORE ?? 'sqlite') === 'sqlite';
  const storeFile = env.LEASH_STORE_FILE?.trim() || '.leash/store.db';
  return embedded && storeFile !== ':memory:' ? reviewerKeysDir(env) : undefined;
}
