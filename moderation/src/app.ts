import { createEventService, type EventServiceDeps, type EventServiceParts } from '@mini-blog/common/service';
import { createModerator } from './domain';
import { moderationProjection } from './projection';

export interface ModerationDeps extends EventServiceDeps {
  readonly blockedWords: readonly string[];
}

export function createApp({ blockedWords, ...deps }: ModerationDeps): EventServiceParts<void> {
  return createEventService({
    ...deps,
    name: 'moderation',
    projection: moderationProjection(createModerator(blockedWords)),
  });
}
