import { busConfigSchema, loadConfig, portWithDefault } from '@mini-blog/common/service';

export const configSchema = busConfigSchema.extend(portWithDefault(4001));

export const readConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configSchema, env);
