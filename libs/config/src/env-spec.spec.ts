import { z } from 'zod';
import { BASE_ENV } from './base.env';
import { ConfigError, defineEnv, extendEnv, loadConfig, mergeEnv } from './env-spec';
import { variable } from './variables';

const SIGNING_KEY = variable(z.string().regex(/^[0-9a-f]{64}$/), {
  description: 'HMAC key that signs decisions.',
  expected: '64 hex characters',
  secret: true,
});

describe('defineEnv', () => {
  it('refuses a variable without a description', () => {
    expect(() => defineEnv({ UNDOCUMENTED: z.string() })).toThrow(
      'environment variable UNDOCUMENTED has no description',
    );
  });

  it('refuses a rule about an unknown variable', () => {
    expect(() =>
      defineEnv({ KEY: SIGNING_KEY }, [
        { variable: 'KEY', when: { variable: 'NOPE', equals: 'x' } },
      ]),
    ).toThrow('unknown variable NOPE');
  });
});

describe('extendEnv', () => {
  const POLICY_ENV = extendEnv(BASE_ENV, { POLICY_SIGNING_KEY: SIGNING_KEY });

  it('adds a service variable to the base ones, typed', () => {
    const key = 'a'.repeat(64);
    const config = loadConfig(POLICY_ENV, { env: { POLICY_SIGNING_KEY: key } });
    const typed: string = config.POLICY_SIGNING_KEY;
    expect(typed).toBe(key);
    expect(config.LEASH_BUS).toBe('embedded');
  });

  it('reports the service variables and the base ones in one error', () => {
    let error: unknown;
    try {
      loadConfig(POLICY_ENV, { env: { LEASH_STORE: 'mysql' }, subject: 'policy' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      { variable: 'LEASH_STORE', message: 'LEASH_STORE is "mysql": expected sqlite or mongo' },
      {
        variable: 'POLICY_SIGNING_KEY',
        message: 'POLICY_SIGNING_KEY is required: expected 64 hex characters',
      },
    ]);
  });

  it('refuses to redeclare a base variable', () => {
    expect(() => extendEnv(BASE_ENV, { LEASH_BUS: SIGNING_KEY })).toThrow(
      'LEASH_BUS is already declared',
    );
  });
});

describe('custom checks', () => {
  const KEYS = defineEnv({
    KEY_RING: variable(
      z.string().superRefine((value, ctx) => {
        if (value.length < 32) ctx.addIssue({ code: 'custom', message: 'key k1 is too short' });
      }),
      { description: 'Signing keys.', expected: 'id:secret pairs', secret: true },
    ),
  });

  it('adds their explanation to the message, still without the secret', () => {
    expect(() => loadConfig(KEYS, { env: { KEY_RING: 'hunter2' } })).toThrow(
      'KEY_RING (secret value hidden): expected id:secret pairs (key k1 is too short)',
    );
  });
});

describe('mergeEnv', () => {
  it('unites specs that share the base', () => {
    const a = extendEnv(BASE_ENV, { A_KEY: SIGNING_KEY });
    const b = extendEnv(BASE_ENV, {
      B_MODE: variable(z.enum(['x', 'y']).default('x'), {
        description: 'B mode.',
        expected: 'x or y',
      }),
    });
    const merged = mergeEnv(a, b);
    expect(Object.keys(merged.variables)).toEqual(
      expect.arrayContaining(['LEASH_BUS', 'A_KEY', 'B_MODE']),
    );
    expect(merged.requirements).toHaveLength(BASE_ENV.requirements.length);
  });

  it('refuses one name with two meanings', () => {
    const other = variable(z.string(), { description: 'Something else.', expected: 'text' });
    expect(() => mergeEnv(defineEnv({ X: SIGNING_KEY }), defineEnv({ X: other }))).toThrow(
      'X is declared twice, differently',
    );
  });
});
