import './instrumentation';
import { startEventService } from '@mini-blog/common/service';
import { createApp } from './app';
import { readConfig } from './config';

void startEventService({ name: 'posts', config: readConfig, create: createApp });
