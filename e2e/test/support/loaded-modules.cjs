// Preloaded into a process with `--require` (NODE_OPTIONS): when the process exits, writes the
// files of every CommonJS module it loaded to LOADED_MODULES_FILE, as a JSON array. Tests read it to
// see what a process pulled in (an HTTP-bus service must not load the NATS client).
const { writeFileSync } = require('node:fs');

const target = process.env.LOADED_MODULES_FILE;
if (target) process.on('exit', () => writeFileSync(target, JSON.stringify(Object.keys(require.cache))));
