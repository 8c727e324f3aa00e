// Builds dist/ with tsc when it is missing or older than any file in src/ (used by `npm start`).
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'dist', 'main.js');

function newest(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    const t = entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs;
    if (t > latest) latest = t;
  }
  return latest;
}

const stale = !fs.existsSync(out) || newest(path.join(root, 'src')) > fs.statSync(out).mtimeMs;
if (stale) {
  process.stdout.write('building dist/ ...\n');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  fs.utimesSync(out, new Date(), new Date());
}
