#!/usr/bin/env node
// The `turnwise` executable: runs the TypeScript CLI through tsx's ESM loader.
import { register } from 'tsx/esm/api';

register();
process.env.TURNWISE_CLI = '1';
await import('../src/cli/main.ts');
