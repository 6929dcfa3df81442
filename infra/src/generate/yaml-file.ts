import { Document, isCollection, isMap, isPair, isScalar, type Node } from 'yaml';

const MARK = Symbol('yaml-mark');

/** How a value is written: a comment above it or after it on its line, or in flow style (`['ALL']`). */
interface Mark {
  readonly before?: string;
  readonly after?: string;
  readonly flow?: boolean;
}

interface Marked {
  readonly [MARK]: Mark;
  readonly value: unknown;
}

const mark = <T>(how: Mark, value: T): T => ({ [MARK]: how, value }) as unknown as T;

/** `value` with `comment` above it in the YAML (on a map's value, above its key). */
export const noted = <T>(comment: string, value: T): T => mark({ before: comment }, value);

/** `value` with `comment` after it, on its line. */
export const trailing = <T>(comment: string, value: T): T => mark({ after: comment }, value);

/** A short list written on one line: `['sleep', '5']`. */
export const flow = <T>(value: T): T => mark({ flow: true }, value);

const isMarked = (value: unknown): value is Marked => typeof value === 'object' && value !== null && MARK in value;

/** One YAML document of a file: an object, with the comment above it. */
export interface YamlDocument {
  readonly comment?: string;
  readonly value: unknown;
}

type PathPart = string | number;

interface Placed extends Mark {
  readonly at: PathPart[];
}

/** The value without its marks; each mark, with where it applies, is pushed to `marks`. */
function strip(value: unknown, at: PathPart[], marks: Placed[]): unknown {
  if (isMarked(value)) {
    marks.push({ ...value[MARK], at });
    return strip(value.value, at, marks);
  }
  if (Array.isArray(value)) return value.map((item, index) => strip(item, [...at, index], marks));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, strip(item, [...at, key], marks)]));
  return value;
}

/** A comment as YAML wants it: each line after a space, so that `#` is followed by one. */
const commentText = (comment: string) =>
  comment
    .split('\n')
    .map((line) => (line ? ` ${line}` : ''))
    .join('\n');

function documentOf({ comment, value }: YamlDocument, header: string | undefined): Document {
  const marks: Placed[] = [];
  // YAML 1.1, as Kubernetes reads it: a string such as `off` or `yes` is quoted, or it would be read as a boolean.
  const document = new Document(strip(value, [], marks), { version: '1.1' });
  if (header) document.commentBefore = commentText(header);
  for (const { at, before, after, flow: inFlow } of marks) {
    const node = document.getIn(at, true) as Node | undefined;
    if (after && node) node.comment = commentText(after);
    if (inFlow && isCollection(node)) node.flow = true;
    if (!before) continue;
    const last = at[at.length - 1];
    if (typeof last === 'string') {
      const parent = at.length === 1 ? document.contents : document.getIn(at.slice(0, -1), true);
      const pair = isMap(parent)
        ? parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === last)
        : undefined;
      if (pair && isScalar(pair.key)) pair.key.commentBefore = commentText(before);
    } else if (node) {
      node.commentBefore = commentText(before);
    }
  }
  // Above the first key rather than the document, so that no blank line parts the comment from it.
  const first = isMap(document.contents) ? document.contents.items[0] : undefined;
  if (comment && first && isScalar(first.key)) {
    const own = first.key.commentBefore;
    first.key.commentBefore = own ? `${commentText(comment)}\n${own}` : commentText(comment);
  }
  return document;
}

/** The YAML text of documents, separated by `---`, each with its comment, and `header` at the top of the file. */
export function yamlText(documents: readonly YamlDocument[], header?: string): string {
  return documents
    .map((document, index) =>
      documentOf(document, index === 0 ? header : undefined).toString({
        lineWidth: 0,
        singleQuote: true,
        flowCollectionPadding: false,
      }),
    )
    .join('---\n');
}

/** Text broken into lines of at most `width` characters, at spaces; its own line breaks are kept. */
export function wrap(text: string, width = 98): string {
  return text
    .split('\n')
    .map((paragraph) => {
      const lines: string[] = [];
      let line = '';
      for (const word of paragraph.split(' ')) {
        if (line && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line ? `${line} ${word}` : word;
        }
      }
      return [...lines, line].join('\n');
    })
    .join('\n');
}
