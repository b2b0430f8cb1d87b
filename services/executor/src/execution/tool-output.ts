/** The default cap on tool output handed to the planner: 16 KiB of UTF-8. */
export const DEFAULT_OUTPUT_LIMIT_BYTES = 16 * 1024;

/** The contract's own ceiling on `output` (characters); a cap above it could not be published. */
export const MAX_OUTPUT_LIMIT_BYTES = 64_000;

export interface CappedOutput {
  readonly output: string;
  readonly truncated: boolean;
}

/**
 * Serialises tool output (strings as they are, anything else as JSON) and
 * cuts it to `limitBytes` of UTF-8 without splitting a character. Output is
 * untrusted: a tool can return anything, including text written to steer the
 * model, so it is bounded before it reaches the planner.
 */
export function capOutput(
  value: unknown,
  limitBytes: number = DEFAULT_OUTPUT_LIMIT_BYTES,
): CappedOutput {
  const text = serialise(value);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return { output: text, truncated: false };
  let cut = limitBytes;
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return { output: bytes.subarray(0, cut).toString('utf8'), truncated: true };
}

function serialise(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? '';
  } catch (error) {
    return `[output could not be serialised: ${(error as Error).message}]`;
  }
}

/** Bounds a message (an error text) to what the contract carries. */
export function capMessage(message: string, limit = 2_000): string {
  return message.length <= limit ? message : `${message.slice(0, limit - 1)}…`;
}
