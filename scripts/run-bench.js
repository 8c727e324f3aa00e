// `npm run bench -- <scenario> [options]`: runs bench/<scenario>.ts with TypeScript loaded through swc.
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const [scenario, ...args] = process.argv.slice(2);
const available = fs
  .readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
if (!scenario || !available.includes(scenario)) {
  process.stderr.write(`usage: npm run bench -- <scenario> [options]; scenarios: ${available.join(', ')}\n`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ['-r', path.join(__dirname, 'ts-register.js'), path.join(root, 'bench', `${scenario}.ts`), ...args],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
