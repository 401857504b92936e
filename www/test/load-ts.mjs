// Imports one of the console's TypeScript modules in node: esbuild bundles it to ESM in memory.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function loadTs(rel) {
  const entry = fileURLToPath(new URL(`../src/${rel}`, import.meta.url));
  const out = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'silent' });
  const code = out.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}
