import { createEventService, type EventTransport, type EventServiceParts, type Logger } from '@mini-blog/common';
import { apply, createModerator } from './domain';

export interface ModerationDeps {
  readonly bus: EventTransport;
  readonly logger: Logger;
  readonly blockedWords: readonly string[];
}

export function createApp({ bus, logger, blockedWords }: ModerationDeps): EventServiceParts {
  const moderate = createModerator(blockedWords);
  return createEventService({ name: 'moderation', bus, logger, apply: (event) => apply(moderate, event) });
}
