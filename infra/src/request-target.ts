/**
 * The request target as nginx reads it before it chooses a location (ngx_http_parse_complex_uri,
 * with `merge_slashes on`, on Linux): percent-escapes decoded once (an encoded `/` or `.` then
 * counts as one), repeated slashes merged, `.` and `..` segments resolved. Whatever nginx refuses
 * with 400 or 414 is refused here too, so that the local gateway and the ingress route alike.
 */

/** nginx's `large_client_header_buffers` (4 × 8k): a longer request line (`GET <target> HTTP/1.1\r\n`) is answered 414. */
export const MAX_REQUEST_LINE_BYTES = 8192;

export class RequestTargetError extends Error {
  override name = 'RequestTargetError';
  constructor(
    readonly status: 400 | 414,
    message: string,
  ) {
    super(`request target: ${message}`);
  }
}

export interface NormalizedTarget {
  /**
   * What nginx matches locations against ($uri): decoded, one byte per character (so an ASCII
   * regex matches as nginx's PCRE does on bytes), always starting with `/`.
   */
  readonly path: string;
  /** The same path percent-encoded where needed: what goes upstream, so that what is routed is what arrives. */
  readonly encodedPath: string;
  /** The query string as sent, with its `?`, or ''. nginx neither decodes nor checks it. */
  readonly search: string;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/** Characters a path segment may carry as they are (RFC 3986 pchar less `%`); everything else is percent-encoded. */
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;

/** Normalizes a request target as nginx does; throws RequestTargetError where nginx answers 400 or 414. */
export function normalizeRequestTarget(target: string, method = 'GET'): NormalizedTarget {
  if (Buffer.byteLength(`${method} ${target} HTTP/1.1\r\n`, 'latin1') > MAX_REQUEST_LINE_BYTES) {
    throw new RequestTargetError(414, `must fit in a request line of ${MAX_REQUEST_LINE_BYTES} bytes`);
  }
  // Absolute-form (`http://host/path`), the asterisk (`OPTIONS *`), an authority (`CONNECT`): a
  // browser sends none of them to a web server, and nginx would route them by another host.
  if (!target.startsWith('/')) throw new RequestTargetError(400, 'must be a path starting with /');
  const end = target.search(/[?#]/);
  const rawPath = end < 0 ? target : target.slice(0, end);
  const search = end >= 0 && target[end] === '?' ? target.slice(end).split('#', 1)[0]! : '';

  const segments = resolveDotSegments(splitSegments(decode(rawPath)));
  const path = segments.map((segment) => segment.toString('latin1')).join('/');
  const encodedPath = segments.map(encodeSegment).join('/');
  return { path, encodedPath, search };
}

/** The path's bytes with every `%XX` decoded once; nginx refuses a broken escape and an encoded NUL. */
function decode(rawPath: string): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < rawPath.length; index += 1) {
    const code = rawPath.charCodeAt(index);
    if (code === 0) throw new RequestTargetError(400, 'must not contain a NUL byte');
    if (code !== 0x25) {
      bytes.push(code & 0xff);
      continue;
    }
    const hex = rawPath.slice(index + 1, index + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex))
      throw new RequestTargetError(400, `"%${hex}" is not a percent-escape (% and two hex digits)`);
    const byte = parseInt(hex, 16);
    if (byte === 0) throw new RequestTargetError(400, 'must not contain an encoded NUL (%00)');
    bytes.push(byte);
    index += 2;
  }
  return Buffer.from(bytes);
}

/** The segments between slashes, decoded slashes included; empty segments (repeated slashes) merged away, a trailing slash kept as a last empty segment. */
function splitSegments(bytes: Buffer): Buffer[] {
  const segments: Buffer[] = [];
  let start = 0;
  for (let index = 0; index <= bytes.length; index += 1) {
    if (index < bytes.length && bytes[index] !== SLASH) continue;
    segments.push(bytes.subarray(start, index));
    start = index + 1;
  }
  // segments[0] is what precedes the leading slash (nothing); the rest are the path's segments.
  const [, ...rest] = segments;
  return rest.filter((segment, index) => segment.length > 0 || index === rest.length - 1);
}

const isDots = (segment: Buffer, count: number) => segment.length === count && segment.every((byte) => byte === DOT);

/** RFC 3986's remove_dot_segments, except that going above the root is refused (nginx answers 400). */
function resolveDotSegments(segments: readonly Buffer[]): Buffer[] {
  const resolved: Buffer[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (isDots(segment, 1)) {
      if (last) resolved.push(Buffer.alloc(0));
      return;
    }
    if (isDots(segment, 2)) {
      if (resolved.length === 0) throw new RequestTargetError(400, 'must not go above the root with ".."');
      resolved.pop();
      if (last) resolved.push(Buffer.alloc(0));
      return;
    }
    resolved.push(segment);
  });
  // The leading empty segment makes the path start with `/` once joined.
  return [Buffer.alloc(0), ...resolved];
}

function encodeSegment(segment: Buffer): string {
  let text = '';
  for (const byte of segment) {
    const char = String.fromCharCode(byte);
    text += PLAIN.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return text;
}
