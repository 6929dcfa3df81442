import { createEventService, type EventServiceDeps, type EventServiceParts } from '@mini-blog/common';
import { apply, createModerator } from './domain';

export interface ModerationDeps extends EventServiceDeps {
  readonly blockedWords: readonly string[];
}

export function createApp({ bus, logger, blockedWords }: ModerationDeps): EventServiceParts {
  const moderate = createModerator(blockedWords);
  return createEventService({ name: 'moderation', bus, logger, apply: (event) => apply(moderate, event) });
}
