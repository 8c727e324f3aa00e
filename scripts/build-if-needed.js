// Builds what `npm start` serves when it is missing or older than its sources: dist/ (the server, with tsc)
// from src/, then the SDK's API types (client/src/generated, from the server's OpenAPI document) and the web
// app (app/dist, with Vite) from app/ and client/src/. With --client (npm test's pretest) only the latter two.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const clientOnly = process.argv.includes('--client');

function newest(target) {
  if (!fs.existsSync(target)) return 0;
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of fs.readdirSync(target, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const t = newest(path.join(target, entry.name));
    if (t > latest) latest = t;
  }
  return latest;
}

function stale(out, sources) {
  if (!fs.existsSync(out)) return true;
  const built = fs.statSync(out).mtimeMs;
  return sources.some((s) => newest(path.join(root, s)) > built);
}

function run(args, cwd = root) {
  execFileSync(process.execPath, args, { cwd, stdio: 'inherit' });
}

if (!clientOnly) {
  const out = path.join(root, 'dist', 'main.js');
  if (stale(out, ['src'])) {
    process.stdout.write('building dist/ ...\n');
    run([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
    fs.utimesSync(out, new Date(), new Date());
  }
}

function installed(name) {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

// An install without dev dependencies (npm ci --omit=dev) runs the server with the app it was shipped with.
const tools = installed('vite') && installed('openapi-typescript');
if (tools) run([path.join(__dirname, 'gen-api-types.js')]);

const app = path.join(root, 'app', 'dist', 'index.html');
if (!tools) {
  if (!fs.existsSync(app))
    process.stdout.write('app/dist/ is missing and Vite is not installed: /app answers 404\n');
} else if (
  fs.existsSync(path.join(root, 'app', 'index.html')) &&
  stale(app, ['app', 'client/src', 'package-lock.json'])
) {
  process.stdout.write('building app/dist/ ...\n');
  run(
    [
      path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'),
      'build',
      '--logLevel',
      'warn',
    ],
    path.join(root, 'app'),
  );
  fs.utimesSync(app, new Date(), new Date());
}
