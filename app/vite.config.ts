import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Served by the server at /app; the SDK is taken from its sources.
export default defineConfig({
  base: '/app/',
  resolve: {
    alias: { '@jim/client': fileURLToPath(new URL('../client/src/index.ts', import.meta.url)) },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
});
