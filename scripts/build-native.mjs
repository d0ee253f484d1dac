#!/usr/bin/env node
// Builds the native kernels (build/Release/turnwise_kernels.node) with node-gyp. Run by the
// package's "install" script, so `npm install` / `npm ci` build it offline from the system's Node
// headers. If the build fails, it prints why and exits 0: turnwise then runs on the (much slower)
// TypeScript reference kernels. TURNWISE_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(root, 'build', 'Release', 'turnwise_kernels.node');

function warn(reason) {
  console.warn(
    [
      '',
      'turnwise: WARNING: the native kernels were not built.',
      `  reason: ${reason}`,
      '  turnwise will fall back to the TypeScript reference kernels, which are correct but far slower.',
      '  To retry (needs python3, make and a C compiler): `npm rebuild turnwise` in a project that installed it,',
      '  `npm run install` in a checkout of turnwise.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

if (process.env.TURNWISE_SKIP_NATIVE === '1') warn('TURNWISE_SKIP_NATIVE=1');

// node-gyp: the one npm passes to lifecycle scripts, else the copy bundled with npm.
const bundled = join(
  dirname(process.execPath),
  '..',
  'lib',
  'node_modules',
  'npm',
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js',
);
const nodeGyp =
  process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)
    ? process.env.npm_config_node_gyp
    : bundled;
if (!existsSync(nodeGyp)) warn(`node-gyp was not found (looked for ${nodeGyp})`);

// Headers: the configured nodedir, else the installed Node's own include/node (offline), else node-gyp's download.
const args = [nodeGyp, 'rebuild'];
const prefix = resolve(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi')))
  args.push(`--nodedir=${prefix}`);

console.log(`turnwise: building the native kernels (node-gyp ${args.slice(1).join(' ')})`);
const build = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
if (build.error) warn(`node-gyp could not start: ${build.error.message}`);
if (build.status !== 0) warn(`node-gyp exited with status ${build.status} (see its output above)`);
if (!existsSync(addonPath)) warn(`node-gyp succeeded but ${addonPath} is missing`);

try {
  const addon = createRequire(import.meta.url)(addonPath);
  const info = addon.info();
  console.log(`turnwise: native kernels built (${info.simd}; supported: ${info.supported.join(', ')})`);
} catch (error) {
  warn(`the built addon does not load: ${error instanceof Error ? error.message : String(error)}`);
}
