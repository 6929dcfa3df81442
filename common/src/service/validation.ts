import type { Request } from 'express';
import type { z } from 'zod';
import { AppError } from './errors';

/** The rule an issue broke, worded for a person: `must not be empty`, `is required`. */
function ruleOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (/ received undefined$/.test(issue.message)) return 'is required';
      return `must be ${article(issue.expected === 'int' ? 'integer' : issue.expected)}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      }
      if (issue.origin === 'array') return `must have at least ${issue.minimum} items`;
      // `positive()` and `gt()` are exclusive: "at least 0" would wrongly allow 0.
      return issue.inclusive === false ? `must be greater than ${issue.minimum}` : `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return issue.inclusive === false ? `must be less than ${issue.maximum}` : `must be at most ${issue.maximum}`;
    case 'invalid_value':
      // zod's own wording ("Invalid option: expected one of ...") in the house style; a schema's own message stays.
      if (!/^Invalid (option|input)/.test(issue.message)) return issue.message;
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `must not have ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Formats zod issues as one message naming each field and its rule, plus the per-field map. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  root = 'body',
): { message: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : root;
    fields[field] ??= ruleOf(issue);
  }
  return {
    message: Object.entries(fields)
      .map(([field, rule]) => `${field}: ${rule}`)
      .join('; '),
    fields,
  };
}

/**
 * 422 when every issue is of a rule that marks itself so (`params: { status: 422 }`: the input is
 * well-formed but not acceptable, such as text with a bidirectional override), else 400.
 */
function statusOfIssues(issues: readonly z.core.$ZodIssue[]): 400 | 422 {
  const unprocessable = (issue: z.core.$ZodIssue) =>
    issue.code === 'custom' && (issue.params as { status?: unknown } | undefined)?.status === 422;
  return issues.length > 0 && issues.every(unprocessable) ? 422 : 400;
}

/** Parses a value with a schema or throws a 400 (or 422, `statusOfIssues`) that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root = 'body'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { message, fields } = describeIssues(result.error.issues, root);
  throw new AppError(statusOfIssues(result.error.issues), message, fields);
}

/** Parses a JSON request body; a body that is not JSON at all is a 415, not a validation error. */
export function parseBody<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  if (req.body === undefined) {
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      throw new AppError(415, 'content-type: must be application/json');
    }
    throw new AppError(400, 'body: is required (a JSON object)');
  }
  return parseOrThrow(schema, req.body);
}
