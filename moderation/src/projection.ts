import type { ProjectionDefinition } from '@mini-blog/common/projection';
import { apply, type Verdict } from './domain';

/**
 * Moderation's projection: none of its own tables, only the mechanism's. Its checkpoint says which
 * comments have their verdict decided, and its outbox holds the verdicts until the log has them:
 * decided in the same transaction as the checkpoint that covers the comment, each verdict is
 * published exactly once (by its id) whatever moment the process dies at.
 */
export function moderationProjection(moderate: (content: string) => Verdict): ProjectionDefinition<'moderation', void> {
  return { version: 1, migrations: [], open: () => undefined, apply: (_model, event) => apply(moderate, event) };
}
