import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

// The SDK package built by scripts/build-pkg.sh (wasm-pack --target web) into ../pkg, or where
// KUBE_EXEC_PKG points. It is aliased, not installed, so that `npm ci` works before it is built.
const here = fileURLToPath(new URL('.', import.meta.url));
const pkg = resolve(here, process.env.KUBE_EXEC_PKG ?? '../pkg');

export default defineConfig({
  // Relative asset URLs: the built console works under any path prefix (e.g. kubectl proxy --www-prefix).
  base: './',
  resolve: {
    alias: [
      { find: /^kube-exec-wasm$/, replacement: resolve(pkg, 'kube_exec_wasm.js') },
      { find: /^kube-exec-wasm\/xterm$/, replacement: resolve(pkg, 'xterm.js') },
      { find: /^kube-exec-wasm\/zip$/, replacement: resolve(pkg, 'zip.js') },
    ],
    // pkg/zip.js imports fflate: resolve it from the console's own dependencies.
    dedupe: ['fflate'],
  },
  server: {
    host: '127.0.0.1',
    fs: { allow: [here, pkg] },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
