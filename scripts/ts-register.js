// Lets plain `node -r ./scripts/ts-register.js file.ts` load TypeScript sources (test child processes, benches)
// by compiling each .ts file with swc as it is required; types are not checked here (tsc does that).
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
