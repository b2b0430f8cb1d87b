import { z } from 'zod';
import { variable } from './variables';

/*
 * The model price table, shared by the budget (which reserves and settles
 * model spend) and the planner (which prices the usage it records). One
 * declaration of LEASH_MODEL_PRICES, so both read the same prices and the
 * all-in-one launcher can merge their variables.
 */

/** What one model costs, in micro-dollars per million tokens (so a price of $0.15 is exact). */
export interface ModelPrice {
  readonly inputMicrosPerMTok: number;
  readonly outputMicrosPerMTok: number;
}

/** Model name to price; a plain object so config can freeze it. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The price of a model, or undefined when it is unpriced (and so refused). */
export function priceFor(table: PriceTable, model: string): ModelPrice | undefined {
  return Object.prototype.hasOwnProperty.call(table, model) ? table[model] : undefined;
}

export interface TokenCount {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Dollars per million tokens as written in config, to the integer form the ledger counts in. */
export function modelPrice(inputUsdPerMTok: number, outputUsdPerMTok: number): ModelPrice {
  return {
    inputMicrosPerMTok: Math.round(inputUsdPerMTok * 1_000_000),
    outputMicrosPerMTok: Math.round(outputUsdPerMTok * 1_000_000),
  };
}

/** The cost of a token count, rounded up to the next micro-dollar so a cap is never undercounted. */
export function priceOf(price: ModelPrice, tokens: TokenCount): number {
  const micros =
    tokens.inputTokens * price.inputMicrosPerMTok + tokens.outputTokens * price.outputMicrosPerMTok;
  return Math.ceil(micros / 1_000_000);
}

/**
 * Parses `model=input/output,...`, prices in US dollars per million tokens,
 * e.g. `gpt-4o-mini=0.15/0.6,scripted=0/0`. Throws naming the bad entry.
 */
export function parsePriceTable(text: string): Record<string, ModelPrice> {
  // No prototype: a model named like an Object member is just a name.
  const table: Record<string, ModelPrice> = Object.create(null);
  for (const entry of text.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(entry);
    if (!match) throw new Error(`"${entry}" is not model=input/output`);
    const [, model, input, output] = match;
    if (Object.prototype.hasOwnProperty.call(table, model!))
      throw new Error(`model "${model}" is priced twice`);
    table[model!] = modelPrice(Number(input), Number(output));
  }
  return table;
}

/** `model=input/output,...` in US dollars per million tokens. */
export function modelPriceTable() {
  return z.string().transform((value, ctx): PriceTable => {
    try {
      return parsePriceTable(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/**
 * List prices of the models the reference agents name, and of the simulated
 * engines (which cost nothing real, but are priced so a demo's ledger shows spend).
 */
export const DEFAULT_MODEL_PRICES =
  'gpt-4o-mini=0.15/0.6,gpt-4o=2.5/10,gpt-4.1-mini=0.4/1.6,scripted=0.15/0.6,replay=0.15/0.6';

export const MODEL_PRICES_ENV = {
  LEASH_MODEL_PRICES: variable(modelPriceTable().default(parsePriceTable(DEFAULT_MODEL_PRICES)), {
    description:
      'Price of each model the planner may call, in US dollars per million input/output tokens. A model not listed is refused, never free.',
    expected: 'a comma-separated list of model=input/output, e.g. gpt-4o-mini=0.15/0.6',
    defaultText: DEFAULT_MODEL_PRICES,
  }),
};
