import { startEventService } from '@mini-blog/common';
import { createApp } from './app';
import { readConfig } from './config';

void startEventService({ name: 'query', config: readConfig, create: createApp });
