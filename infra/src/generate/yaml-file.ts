import { Document, isMap, isPair, isScalar, type Node } from 'yaml';

const NOTE = Symbol('note');

/** A value with a comment that the YAML shows above it. */
interface Noted {
  readonly [NOTE]: string;
  readonly value: unknown;
}

/** `value` with `comment` above it in the YAML (on a map's value, above its key). */
export function noted<T>(comment: string, value: T): T {
  return { [NOTE]: comment, value } as unknown as T;
}

const isNoted = (value: unknown): value is Noted => typeof value === 'object' && value !== null && NOTE in value;

/** One YAML document of a file: an object, with the comment above it. */
export interface YamlDocument {
  readonly comment?: string;
  readonly value: unknown;
}

type PathPart = string | number;

/** The value without its notes; each note's path and comment are pushed to `notes`. */
function strip(value: unknown, at: PathPart[], notes: { at: PathPart[]; comment: string }[]): unknown {
  if (isNoted(value)) {
    notes.push({ at, comment: value[NOTE] });
    return strip(value.value, at, notes);
  }
  if (Array.isArray(value)) return value.map((item, index) => strip(item, [...at, index], notes));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, strip(item, [...at, key], notes)]));
  return value;
}

/** A comment as YAML wants it: each line after a space, so that `#` is followed by one. */
const commentText = (comment: string) =>
  comment
    .split('\n')
    .map((line) => (line ? ` ${line}` : ''))
    .join('\n');

function documentOf({ comment, value }: YamlDocument, header: string | undefined): Document {
  const notes: { at: PathPart[]; comment: string }[] = [];
  // YAML 1.1, as Kubernetes reads it: a string such as `off` or `yes` is quoted, or it would be read as a boolean.
  const document = new Document(strip(value, [], notes), { version: '1.1' });
  if (header) document.commentBefore = commentText(header);
  // Above the first key rather than the document, so that no blank line parts the comment from it.
  const first = isMap(document.contents) ? document.contents.items[0] : undefined;
  if (comment && first && isScalar(first.key)) first.key.commentBefore = commentText(comment);
  for (const { at, comment: text } of notes) {
    const last = at[at.length - 1];
    if (typeof last === 'string') {
      const parent = at.length === 1 ? document.contents : document.getIn(at.slice(0, -1), true);
      const pair = isMap(parent)
        ? parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === last)
        : undefined;
      if (pair && isScalar(pair.key)) pair.key.commentBefore = commentText(text);
    } else {
      const node = document.getIn(at, true) as Node | undefined;
      if (node) node.commentBefore = commentText(text);
    }
  }
  return document;
}

/** The YAML text of documents, separated by `---`, each with its comment, and `header` at the top of the file. */
export function yamlText(documents: readonly YamlDocument[], header?: string): string {
  return documents
    .map((document, index) =>
      documentOf(document, index === 0 ? header : undefined).toString({ lineWidth: 0, singleQuote: true }),
    )
    .join('---\n');
}
