import { busConfigSchema, loadConfig, portWithDefault } from '@mini-blog/common';

export const configSchema = busConfigSchema.extend(portWithDefault(4002));

export const readConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configSchema, env);
