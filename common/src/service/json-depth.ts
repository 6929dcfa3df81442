/**
 * How deep a JSON document may nest. The deepest document the system exchanges is a batch of
 * envelopes (array, envelope, data, and a newer publisher's extra fields): a few levels. V8's
 * `JSON.parse` reads any depth, but `JSON.stringify`, zod and every recursive walk after it do
 * not: a field nested 5,000 levels deep, once accepted, made the bus answer 500 on its publish.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether JSON text (UTF-8 bytes or a string) opens more than `max` arrays or objects inside one
 * another, counted outside strings in one pass without parsing: what is checked before a parser
 * builds the value. In UTF-8 no byte of a multi-byte character is ASCII, so bytes can be scanned
 * as they are. Text that is not JSON is left to the parser to refuse.
 */
export function nestsDeeperThan(json: Uint8Array | string, max: number = MAX_JSON_DEPTH): boolean {
  const bytes = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** The message of a refused body, naming the rule. */
export const TOO_DEEP_MESSAGE = `body: must not nest arrays or objects more than ${MAX_JSON_DEPTH} levels deep`;
