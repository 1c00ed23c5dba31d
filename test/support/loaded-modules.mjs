// Preloaded into a process (`node --import`) to list every file it loads, ES modules and CommonJS
// alike, into the file named by LOADED_MODULES_FILE (one path a line), when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.LOADED_MODULES_FILE;
if (file) {
  register('./loaded-modules-hooks.mjs', { parentURL: import.meta.url, data: { file } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const paths = Object.keys(require.cache);
    if (paths.length > 0) appendFileSync(file, `${paths.join('\n')}\n`);
  });
}
