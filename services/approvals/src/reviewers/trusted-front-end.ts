import { z } from 'zod';
import { PublicKey } from './reviewer';

/*
 * A front end the approvals service trusts to vouch for reviewers it signed
 * in (the web inbox): it signs each verdict with its own Ed25519 key, and
 * the service takes the reviewer it names as proven. Configured, not stored:
 * trusting one more front end is a deployment decision.
 */

const Name = z.string().trim().min(1).max(200);

export const TrustedFrontEnd = z.object({
  /** The name its proofs give in `frontEnd`. */
  name: Name,
  publicKey: PublicKey,
  /** When present, the only tenants it may vouch for. */
  tenants: z.array(Name).min(1).optional(),
});
export type TrustedFrontEnd = z.infer<typeof TrustedFrontEnd>;
export type TrustedFrontEndInput = z.input<typeof TrustedFrontEnd>;

export const TrustedFrontEndList = z.array(TrustedFrontEnd).superRefine((list, ctx) => {
  const names = list.map((f) => f.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) ctx.addIssue({ code: 'custom', message: `front end ${repeated} is listed twice` });
});

/** Parses LEASH_REVIEWER_FRONT_ENDS; throws naming the problem. */
export function parseTrustedFrontEnds(json: string, where: string): TrustedFrontEnd[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${where}: not JSON: ${(error as Error).message}`);
  }
  const parsed = TrustedFrontEndList.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${where}: not a list of front ends: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
