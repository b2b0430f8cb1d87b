import { z } from 'zod';

/** One version of a policy: Cedar text, kept forever; one version per id is current. */
export const PolicyVersion = z.object({
  policyId: z.string().min(1),
  version: z.number().int().positive(),
  cedar: z.string().min(1),
  description: z.string().default(''),
  author: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
});
export type PolicyVersion = z.infer<typeof PolicyVersion>;
