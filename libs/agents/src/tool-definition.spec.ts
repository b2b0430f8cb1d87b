import { z } from 'zod';
import { defineTool, toolJsonSchema } from './tool-definition';

const lookup = defineTool({
  name: 'lookup_order',
  version: 1,
  description: 'Look an order up by its id.',
  parameters: z.object({ orderId: z.string().min(1), verbose: z.boolean().optional() }),
  riskClass: 'read',
  actionClass: 'lookup',
  idempotent: true,
});

describe('toolJsonSchema', () => {
  it('gives the parameters as draft-7 JSON Schema without $schema', () => {
    expect(toolJsonSchema(lookup)).toEqual({
      type: 'object',
      properties: { orderId: { type: 'string', minLength: 1 }, verbose: { type: 'boolean' } },
      required: ['orderId'],
      additionalProperties: false,
    });
  });

  it('gives a fresh copy each time, so a caller changing one changes no other', () => {
    const first = toolJsonSchema(lookup);
    (first.properties as Record<string, unknown>).orderId = 'changed';
    delete first.required;
    const second = toolJsonSchema(lookup);
    expect(second).not.toBe(first);
    expect(second.required).toEqual(['orderId']);
    expect((second.properties as Record<string, unknown>).orderId).toEqual({
      type: 'string',
      minLength: 1,
    });
  });
});

describe('defineTool identities', () => {
  it('refuses an identity that is not a parameter', () => {
    expect(() =>
      defineTool({
        name: 'lookup_order',
        version: 1,
        description: 'Look an order up by its id.',
        parameters: z.object({ orderId: z.string() }),
        riskClass: 'read',
        actionClass: 'lookup',
        idempotent: true,
        identities: { customerId: 'id' } as never,
      }),
    ).toThrow('identity "customerId" is not a parameter');
  });
});

describe('defineTool amountPer', () => {
  const refund = (extra: object) => () =>
    defineTool({
      name: 'refund_order',
      version: 1,
      description: 'Refund an order.',
      parameters: z.object({ orderId: z.string(), amountUsd: z.number() }),
      riskClass: 'write',
      actionClass: 'refund',
      idempotent: false,
      ...extra,
    });

  it('takes parameters of a tool with an amount field', () => {
    expect(refund({ amountField: 'amountUsd', amountPer: ['orderId'] })().amountPer).toEqual([
      'orderId',
    ]);
  });

  it('refuses one that is not a parameter, or on a tool without an amount field', () => {
    expect(refund({ amountField: 'amountUsd', amountPer: ['sku'] })).toThrow(
      'amountPer "sku" needs an amountField and must be a parameter',
    );
    expect(refund({ amountPer: ['orderId'] })).toThrow('needs an amountField');
  });
});
