// Preloaded into a process with `--require` (NODE_OPTIONS, which the processes it starts inherit):
// when the process exits, writes its script and the files of every CommonJS module it loaded to
// LOADED_MODULES_DIR/<pid>.json. Tests read them to see what each process pulled in (a process on
// the HTTP bus must not load the NATS client).
const { writeFileSync } = require('node:fs');
const path = require('node:path');

const dir = process.env.LOADED_MODULES_DIR;
if (dir)
  process.on('exit', () =>
    writeFileSync(
      path.join(dir, `${process.pid}.json`),
      JSON.stringify({ script: process.argv[1] ?? null, modules: Object.keys(require.cache) }),
    ),
  );
