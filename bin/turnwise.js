#!/usr/bin/env node
// The `turnwise` executable. Installed from npm it runs the compiled CLI in dist/ (plain Node, no
// tsx). In a checkout of the repository (src/ present; the package does not ship it) it runs the
// TypeScript sources through tsx, a dev dependency, so it never runs a stale build there.
import { existsSync } from 'node:fs';

process.env.TURNWISE_CLI = '1';
const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
