// `npm run lint:openapi`: builds the OpenAPI document from the route comments, writes it to a temporary file
// and lints it with Redocly's recommended rules (redocly.yaml); any error or warning fails.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
require('./ts-register.js');
const { buildOpenApiDocument } = require('../src/http/openapi.ts');

const root = path.resolve(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jim-openapi-'));
const file = path.join(dir, 'openapi.json');
let status = 1;
try {
  fs.writeFileSync(file, JSON.stringify(buildOpenApiDocument(), null, 2));
  const cli = path.join(path.dirname(require.resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
  const result = spawnSync(
    process.execPath,
    [cli, 'lint', file, '--config', path.join(root, 'redocly.yaml'), '--format', 'stylish'],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  );
  status = result.status ?? 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
