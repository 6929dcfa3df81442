/**
 * A setting that is missing or wrong: the process stops at once with the message, which names the
 * setting. Its own module, free of imports, so that what only reports a bad setting (the transport
 * seam, credentials) does not load the service kit's env parsing (`./config`, zod).
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
