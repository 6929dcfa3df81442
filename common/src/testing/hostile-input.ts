import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { afterEach, expect } from '@jest/globals';
import fc from 'fast-check';
import { z } from 'zod';
import { EVENT_TYPES, eventDataSchemas, MAX_ID_LENGTH, type EventType } from '../events';
import { MAX_JSON_DEPTH } from '../service/json-depth';

/**
 * Generators of hostile HTTP input for property tests of every service's routes: requests that
 * must be refused (malformed JSON, wrong content types, wrong types, missing fields, huge strings,
 * unicode edge cases, prototype-pollution keys, deep nesting, bodies over the limit), built from a
 * description of what the route accepts so that each one is invalid by construction.
 */

/** Characters that break naive code: invisible, direction-changing, unpaired, escaping, markup. */
export const EDGE_CHARACTERS: readonly string[] = [
  '\u0000', // NUL
  '\u0007',
  '\u00a0', // no-break space
  '\u200b', // zero-width space
  '\u200c', // zero-width non-joiner
  '\u200d', // zero-width joiner
  '\u2060', // word joiner
  '\ufeff', // byte order mark
  '\u200f', // right-to-left mark
  '\u202e', // right-to-left override
  '\u2066', // left-to-right isolate
  '\u061c', // Arabic letter mark
  'שלום',
  'مرحبا',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\udc00\ud800', // surrogates in the wrong order
  '\ud83d\ude00', // an emoji (a valid pair)
  'e\u0301', // combining accent
  '\u0085', // next line
  '\u2028', // line separator
  '\u2029', // paragraph separator
  '\t',
  '\r\n',
  ' ',
  '\\',
  '"',
  "'",
  '<script>',
  '&amp;',
  '%00',
  '${x}',
  '{{x}}',
  '\u3164', // Hangul filler: a letter that shows nothing
];

/** Keys that reach an object's prototype when code copies them naively. */
export const POLLUTION_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
];

/** Short text made mostly of edge characters. */
export const edgeText = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(fc.constantFrom(...EDGE_CHARACTERS), fc.string({ minLength: 1, maxLength: 1 })),
    maxLength,
  });

const keyArbitrary = fc.oneof(fc.constantFrom(...POLLUTION_KEYS), edgeText(6));

/** Builds an object whose keys are own properties, `__proto__` included (a literal would set the prototype). */
const objectOf = (entries: readonly (readonly [string, unknown])[]): Record<string, unknown> =>
  Object.fromEntries(entries);

/** Any JSON value, with edge-character strings, awkward numbers and pollution keys at every level. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.constantFrom(0, -1, 1.5, -0, 2 ** 53, Number.MAX_VALUE, 1e-7),
    fc.integer(),
    edgeText(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(keyArbitrary, tie('value')), { maxLength: 4 }).map(objectOf),
  ),
})).value;

/** What a route accepts in one field of its JSON body. */
export type FieldRule =
  | {
      readonly kind: 'text';
      readonly min: number;
      readonly max: number;
      /** Checked after trimming, and must be well-formed and show something (what a person typed). */
      readonly userText?: boolean;
      readonly optional?: boolean;
    }
  | { readonly kind: 'int'; readonly min: number; readonly optional?: boolean }
  | { readonly kind: 'oneOf'; readonly values: readonly string[]; readonly optional?: boolean }
  | { readonly kind: 'object'; readonly fields: Shape; readonly optional?: boolean };

export type Shape = Readonly<Record<string, FieldRule>>;

/** A body shape and one valid body of that shape: every hostile request breaks it in one way. */
export interface BodySpec {
  readonly shape: Shape;
  readonly valid: Readonly<Record<string, unknown>>;
}

export interface HostileOptions {
  /** What the route accepts; several when it takes several kinds of object (the event types). */
  readonly specs: readonly BodySpec[];
  /** The route's body limit: bodies over it must get 413. */
  readonly bodyLimitBytes: number;
  /** The route also takes a JSON array of such objects (a batch). */
  readonly acceptsArrays?: boolean;
}

/** A request as it goes on the wire: nothing fixes it up on the way. */
export interface HostileRequest {
  /** What is wrong with it. */
  readonly defect: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function wire(defect: string, headers: Record<string, string>, body: Buffer): HostileRequest {
  const preview =
    body.length > 160 ? `${body.subarray(0, 160).toString('utf8')}... (${body.length} bytes)` : body.toString('utf8');
  return {
    defect,
    headers,
    body,
    // How fast-check prints a counterexample: the defect and the start of the body, not a byte dump.
    [fc.toStringMethod]: () => `${defect}: ${JSON.stringify(headers)} ${JSON.stringify(preview)}`,
  } as HostileRequest;
}

const asJson = (defect: string, text: string, headers: Record<string, string> = JSON_TYPE) =>
  wire(defect, headers, Buffer.from(text, 'utf8'));

const isPlainObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

const hasVisible = (text: string) => /[^\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}]/u.test(text);
/** What user text refuses (`userTextSchema`): controls but tab and line breaks, bidirectional controls, annotation and deprecated format characters. */
const REFUSED_IN_USER_TEXT = /[^\P{Cc}\t\n\r]|[\u202a-\u202e\u2066-\u206f\ufff9-\ufffb]/u;

function satisfies(rule: FieldRule, value: unknown): boolean {
  switch (rule.kind) {
    case 'text': {
      if (typeof value !== 'string') return false;
      const text = rule.userText ? value.trim() : value;
      if (text.length < rule.min || text.length > rule.max) return false;
      return !rule.userText || (!/\p{Cs}/u.test(text) && hasVisible(text) && !REFUSED_IN_USER_TEXT.test(text));
    }
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= rule.min;
    case 'oneOf':
      return typeof value === 'string' && rule.values.includes(value);
    case 'object':
      return isPlainObject(value);
  }
}

/** Values that break the rule. */
function wrongValue(rule: FieldRule): fc.Arbitrary<unknown> {
  const other = hostileValue.filter((value) => !satisfies(rule, value));
  switch (rule.kind) {
    case 'text': {
      const wrong: fc.Arbitrary<unknown>[] = [other];
      if (Number.isFinite(rule.max)) {
        // Visible characters at both ends, so that trimming cannot bring it back under the limit.
        wrong.push(
          fc
            .tuple(edgeText(), fc.integer({ min: 1, max: 2000 }))
            .map(([middle, extra]) => `a${middle}${'x'.repeat(rule.max + extra)}`),
        );
      }
      if (rule.min >= 1) wrong.push(fc.constant(''));
      if (rule.userText) {
        wrong.push(
          fc
            .array(
              fc.constantFrom(
                ' ',
                '\t',
                '\u00a0',
                '\u200b',
                '\u200c',
                '\u200d',
                '\u2060',
                '\ufeff',
                '\u200f',
                '\u202e',
                '\u3164',
                '\n',
              ),
              { minLength: 1, maxLength: 8 },
            )
            .map((parts) => parts.join('')),
          fc
            .tuple(fc.constantFrom('\ud800', '\udfff', '\udc00\ud800'), edgeText())
            .map(([lone, rest]) => `ok ${lone}${rest}`),
          // Visible text with one character that changes what a reader sees: 422.
          fc
            .tuple(
              fc.constantFrom('orange', 'ok', 'שלום'),
              fc.constantFrom(
                '\u202e',
                '\u202b',
                '\u2067',
                '\u2068',
                '\ufff9',
                '\ufffb',
                '\u0000',
                '\u0007',
                '\u001b',
                '\u009b',
                '\u206b',
              ),
              fc.nat(6),
            )
            .map(([word, refused, at]) => `${word.slice(0, at)}${refused}${word.slice(at)}`),
        );
      }
      return fc.oneof(...wrong).filter((value) => !satisfies(rule, value));
    }
    case 'int':
      return fc
        .oneof(other, fc.constantFrom(rule.min - 1, -1, 0.5, 1.5, 2 ** 53, 1e21, -1e21), fc.integer().map(String))
        .filter((value) => !satisfies(rule, value));
    case 'oneOf':
      return fc
        .oneof(
          other,
          fc
            .constantFrom(...rule.values)
            .chain((value) => fc.constantFrom(value.toLowerCase(), ` ${value}`, `${value}\u200b`, `${value}s`, '')),
        )
        .filter((value) => !satisfies(rule, value));
    case 'object':
      return other;
  }
}

type Path = readonly string[];

/** Every field path of a shape, nested ones included. */
function pathsOf(shape: Shape, prefix: Path = []): { path: Path; rule: FieldRule }[] {
  return Object.entries(shape).flatMap(([name, rule]) => {
    const here = { path: [...prefix, name], rule };
    return rule.kind === 'object' ? [here, ...pathsOf(rule.fields, here.path)] : [here];
  });
}

/** A deep copy of `body` with the value at `path` replaced (or removed when `value` is `REMOVE`). */
const REMOVE = Symbol('remove');
function withValueAt(body: Readonly<Record<string, unknown>>, path: Path, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const copy: Record<string, unknown> = { ...body };
  if (rest.length === 0) {
    if (value === REMOVE) delete copy[head!];
    else copy[head!] = value;
  } else {
    copy[head!] = withValueAt(body[head!] as Record<string, unknown>, rest, value);
  }
  return copy;
}

/** Extra keys the route does not know: pollution keys and edge-character keys, with any value. */
function extraKeys(shape: Shape): fc.Arbitrary<[string, unknown][]> {
  return fc.array(
    fc.tuple(
      keyArbitrary.filter((key) => !(key in shape)),
      hostileValue,
    ),
    { maxLength: 3 },
  );
}

/** One object of the spec with exactly one thing wrong (a required field missing, or a wrong value), plus unknown keys. */
function invalidObject({ shape, valid }: BodySpec): fc.Arbitrary<{ defect: string; value: Record<string, unknown> }> {
  const required = pathsOf(shape).filter(({ rule }) => !rule.optional);
  const missing = fc
    .constantFrom(...required)
    .map(({ path }) => ({ defect: `${path.join('.')}: missing`, value: withValueAt(valid, path, REMOVE) }));
  const wrong = fc.constantFrom(...pathsOf(shape)).chain(({ path, rule }) =>
    wrongValue(rule).map((value) => ({
      defect: `${path.join('.')}: wrong value`,
      value: withValueAt(valid, path, value),
    })),
  );
  return fc.tuple(fc.oneof(missing, wrong), extraKeys(shape)).map(([broken, extra]) => ({
    defect:
      extra.length > 0
        ? `${broken.defect}, with keys ${extra.map(([key]) => JSON.stringify(key)).join(' ')}`
        : broken.defect,
    value: objectOf([...Object.entries(broken.value), ...extra]),
  }));
}

const MALFORMED_JSON = [
  '',
  ' ',
  '{',
  '}',
  '{"',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '{a:1}',
  'undefined',
  'NaN',
  '[1,2',
  '{"a":1}}',
  '{"a":"\\x"}',
  '{"a":"\\ud8"}',
  '{"a":01}',
  '{"a":1}{"b":2}',
  '\u0000',
  '{"__proto__":',
];

/** Text that is not JSON at all, or stops half-way. */
function malformedJson(specs: readonly BodySpec[]): fc.Arbitrary<string> {
  const cut = fc.tuple(fc.constantFrom(...specs), fc.nat()).map(([spec, at]) => {
    const text = JSON.stringify(spec.valid);
    return text.slice(0, at % text.length);
  });
  const notJson = (text: string) => {
    try {
      JSON.parse(text.replace(/^\ufeff/, ''));
      return false;
    } catch {
      return true;
    }
  };
  return fc.oneof(fc.constantFrom(...MALFORMED_JSON), cut, fc.string({ maxLength: 40 }), edgeText(20)).filter(notJson);
}

/** Content types other than JSON, and JSON in a charset the parser does not read. */
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/json',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'application/javascript',
  'application/json; charset=latin1',
  'image/png',
];

/** JSON nested `depth` levels deep, written directly so that generating it costs nothing. */
function deeplyNested(depth: number, kind: 'array' | 'object' | 'proto'): string {
  if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const open = kind === 'object' ? '{"a":' : '{"__proto__":';
  return `${open.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * Requests the route must refuse with a 4xx and a message, storing nothing: each one has exactly
 * one kind of defect, named in `defect`.
 */
export function hostileRequest({
  specs,
  bodyLimitBytes,
  acceptsArrays = false,
}: HostileOptions): fc.Arbitrary<HostileRequest> {
  const objects = fc.constantFrom(...specs).chain(invalidObject);
  const depths = fc.integer({ min: 64, max: Math.floor(bodyLimitBytes / 14) });
  // Past the depth any body may nest (`MAX_JSON_DEPTH`), 5,000 levels and more as often as not.
  const tooDeep = fc.oneof(
    fc.integer({ min: 5000, max: Math.floor(bodyLimitBytes / 14) }),
    fc.integer({ min: MAX_JSON_DEPTH + 1, max: 5000 }),
  );
  const nestingKinds = fc.constantFrom('array', 'object', 'proto') as fc.Arbitrary<'array' | 'object' | 'proto'>;
  const withDeepField = (value: unknown, depth: number, kind: 'array' | 'object' | 'proto') =>
    JSON.stringify(value).replace('"\\u0000deep"', deeplyNested(depth, kind));
  const kinds: fc.Arbitrary<HostileRequest>[] = [
    malformedJson(specs).map((text) => asJson('malformed JSON', text)),
    // Outside any string, so that decoding cannot turn them into a valid character.
    fc
      .constantFrom(...specs)
      .map((spec) =>
        wire(
          'invalid UTF-8',
          JSON_TYPE,
          Buffer.concat([Buffer.from(JSON.stringify(spec.valid).slice(0, -1)), Buffer.from([0xff, 0xfe, 0x7d])]),
        ),
      ),
    fc
      .tuple(fc.constantFrom(...specs), fc.constantFrom(...WRONG_CONTENT_TYPES))
      .map(([spec, type]) => asJson(`content-type ${type}`, JSON.stringify(spec.valid), { 'content-type': type })),
    fc.constantFrom(...specs).map((spec) => asJson('no content-type', JSON.stringify(spec.valid), {})),
    fc
      .tuple(fc.constantFrom(...specs), fc.integer({ min: 1, max: 64 * 1024 }))
      .map(([spec, extra]) =>
        asJson('over the body limit', JSON.stringify({ ...spec.valid, padding: 'x'.repeat(bodyLimitBytes + extra) })),
      ),
    fc
      .oneof(fc.constant(null), fc.boolean(), fc.integer(), edgeText())
      .map((value) => asJson('not an object', JSON.stringify(value))),
    objects.map(({ defect, value }) => asJson(defect, JSON.stringify(value))),
    fc
      .tuple(depths, nestingKinds)
      .map(([depth, kind]) => asJson(`nested ${depth} deep (${kind})`, deeplyNested(depth, kind))),
    fc
      .tuple(objects, depths)
      .map(([{ defect, value }, depth]) =>
        asJson(
          `${defect}, and a field nested ${depth} deep`,
          JSON.stringify({ ...value, nested: '\u0000deep' }).replace('"\\u0000deep"', deeplyNested(depth, 'array')),
        ),
      ),
    // Nothing else wrong: the depth alone must refuse it (a valid body with one extra field too deep).
    fc
      .tuple(fc.constantFrom(...specs), tooDeep, nestingKinds)
      .map(([spec, depth, kind]) =>
        asJson(
          `a valid body with a field nested ${depth} deep (${kind})`,
          withDeepField({ ...spec.valid, nested: '\u0000deep' }, depth, kind),
        ),
      ),
  ];
  // A batch is refused whole when any item is wrong; a route without batches refuses any array.
  if (acceptsArrays)
    kinds.push(
      fc
        .tuple(fc.constantFrom(...specs), tooDeep, nestingKinds)
        .map(([spec, depth, kind]) =>
          asJson(
            `a valid batch with a field nested ${depth} deep (${kind})`,
            withDeepField([spec.valid, { ...spec.valid, nested: '\u0000deep' }], depth, kind),
          ),
        ),
    );
  kinds.push(
    acceptsArrays
      ? fc
          .tuple(
            fc.array(fc.constantFrom(...specs.map((spec) => spec.valid)), { maxLength: 2 }),
            fc.array(objects, { minLength: 1, maxLength: 3 }),
          )
          .map(([good, bad]) =>
            asJson(
              `a batch with ${bad.map((item) => item.defect).join(' | ')}`,
              JSON.stringify([...good, ...bad.map((item) => item.value)]),
            ),
          )
      : fc
          .array(fc.oneof(hostileValue, fc.constantFrom(...specs.map((spec) => spec.valid))), { maxLength: 3 })
          .map((items) => asJson('an array', JSON.stringify(items))),
  );
  return fc.oneof(...kinds);
}

const idRule: FieldRule = { kind: 'text', min: 1, max: MAX_ID_LENGTH };

/** The rule of one field of a catalog schema, read from the schema itself. */
function ruleOf(field: z.ZodType): FieldRule {
  if (field instanceof z.ZodOptional) return { ...ruleOf(field.unwrap() as z.ZodType), optional: true };
  if (field instanceof z.ZodString)
    return { kind: 'text', min: field.minLength ?? 0, max: field.maxLength ?? Number.POSITIVE_INFINITY };
  if (field instanceof z.ZodLiteral) return { kind: 'oneOf', values: [...field.values].map(String) };
  if (field instanceof z.ZodEnum) return { kind: 'oneOf', values: field.options.map(String) };
  if (field instanceof z.ZodNumber && field.isInt)
    return { kind: 'int', min: field.minValue ?? Number.MIN_SAFE_INTEGER };
  throw new Error(`hostile-input: no rule for a catalog field of type ${field._zod.def.type}; add one to ruleOf`);
}

/** A value that keeps a rule. */
function validValue(rule: FieldRule): unknown {
  switch (rule.kind) {
    case 'text':
      return 'x'.repeat(Math.max(rule.min, 1));
    case 'int':
      return Math.max(rule.min, 1);
    case 'oneOf':
      return rule.values[0];
    case 'object':
      return Object.fromEntries(Object.entries(rule.fields).map(([name, field]) => [name, validValue(field)]));
  }
}

/**
 * The data of each event type, as the catalog accepts it, with a valid example: read from the
 * catalog's schemas, so that a new event type gets its hostile-input tests without an entry here.
 */
export const EVENT_DATA_SPECS: Readonly<Record<EventType, BodySpec & { readonly valid: { readonly id: string } }>> =
  Object.fromEntries(
    EVENT_TYPES.map((type) => {
      const shape = Object.fromEntries(
        Object.entries(eventDataSchemas[type].shape).map(([name, field]) => [name, ruleOf(field as z.ZodType)]),
      );
      const valid = validValue({ kind: 'object', fields: shape }) as { id: string };
      return [type, { shape, valid }];
    }),
  ) as Record<EventType, BodySpec & { readonly valid: { readonly id: string } }>;

/** A publish request `{type, data, id?}` for each event type (the bus's `POST /events`). */
export const NEW_EVENT_SPECS: readonly BodySpec[] = Object.entries(EVENT_DATA_SPECS).map(([type, data]) => ({
  shape: {
    type: { kind: 'oneOf', values: [type] },
    data: { kind: 'object', fields: data.shape },
    id: { ...idRule, optional: true },
  },
  valid: { type, data: data.valid, id: `${type}:${data.valid.id}` },
}));

/** A delivered envelope `{id, seq, type, data, time}` for each event type (every subscriber's `POST /events`). */
export const ENVELOPE_SPECS: readonly BodySpec[] = Object.entries(EVENT_DATA_SPECS).map(([type, data]) => ({
  shape: {
    id: idRule,
    seq: { kind: 'int', min: 1 },
    type: { kind: 'oneOf', values: [type] },
    data: { kind: 'object', fields: data.shape },
    time: { kind: 'text', min: 0, max: Number.POSITIVE_INFINITY },
  },
  valid: { id: `${type}:${data.valid.id}`, seq: 1, type, data: data.valid, time: '2026-01-01T00:00:00.000Z' },
}));

/** Path segments that break naive routing and decoding: encoded edge characters, bad escapes, dot segments, huge ones. */
export const hostilePathSegment: fc.Arbitrary<string> = fc.oneof(
  edgeText(8)
    .filter((text) => text.length > 0)
    .map((text) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, 'x'))),
  fc.constantFrom(
    '%',
    '%zz',
    '%00',
    '%ED%A0%80',
    '%C0%AF',
    '%FF',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%5C',
    '__proto__',
    'constructor',
    '%F0%9F%98%80',
  ),
  fc.integer({ min: 101, max: 4000 }).map((length) => 'x'.repeat(length)),
);

/** Query strings with repeated keys, bracket keys, pollution keys, edge characters and huge values. */
export function hostileQuery(names: readonly string[]): fc.Arbitrary<string> {
  const value = fc.oneof(
    edgeText(8).map((text) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, 'x'))),
    fc.constantFrom(
      '',
      '-1',
      '0',
      '1.5',
      '1e3',
      '0x10',
      '9007199254740993',
      'NaN',
      'Infinity',
      '%',
      '%zz',
      '%ED%A0%80',
      '[]',
      '{}',
    ),
    fc.integer({ min: 400, max: 3000 }).map((length) => '9'.repeat(length)),
  );
  const key = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...names).map((name) => `${name}[]`),
    fc.constantFrom('__proto__', '__proto__[x]', 'constructor[prototype][x]', 'a[b][c]'),
  );
  return fc
    .array(fc.tuple(key, value), { minLength: 1, maxLength: 4 })
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`);
}

/** The own properties of Object.prototype and Array.prototype: a polluted prototype shows as a change. */
export function prototypeSnapshot(): string {
  return JSON.stringify([
    Object.getOwnPropertyNames(Object.prototype).sort(),
    Object.getOwnPropertyNames(Array.prototype).sort(),
  ]);
}

/** Fails every test of the file after which a built-in prototype has changed (prototype pollution). */
export function guardPrototypes(): void {
  const before = prototypeSnapshot();
  afterEach(() => expect(prototypeSnapshot()).toBe(before));
}

/** The answer every hostile request must get: a 4xx, with a message that says something. */
export function expectRefused(res: RawAnswer): void {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.body).toEqual(expect.objectContaining({ message: expect.stringMatching(/\S/) }));
}

/**
 * The answer to user text holding a character that changes how the text shows (an override, an
 * isolate, a control character...): 422, naming the field, the rule and the character (`where`:
 * `U+202E at 1`).
 */
export function expectRefusedCharacter(
  res: { readonly status: number; readonly body: unknown },
  field: string,
  where: string,
): void {
  expect(res.status).toBe(422);
  expect(res.body).toMatchObject({
    message: `${field}: must not contain control characters, bidirectional embeddings, overrides or isolates, or annotation characters (${where})`,
    fields: { [field]: expect.anything() },
  });
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed body when it is JSON. */
  readonly body: unknown;
}

/**
 * Sends exactly these bytes and headers to an app on a loopback port, and returns the answer
 * (supertest would serialise a Buffer sent as JSON, and adds a content type to a string). With
 * `firstChunk`, returns after the first piece of the body and closes the connection: for streams.
 */
export async function sendRaw(
  app: RequestListener,
  method: string,
  path: string,
  hostile: Pick<HostileRequest, 'headers' | 'body'> = { headers: {}, body: Buffer.alloc(0) },
  { firstChunk = false }: { firstChunk?: boolean } = {},
): Promise<RawAnswer> {
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent: false,
          headers: { ...hostile.headers, 'content-length': String(hostile.body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          const done = () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          };
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            if (firstChunk) {
              done();
              req.destroy();
            }
          });
          res.on('end', done);
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(hostile.body);
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
