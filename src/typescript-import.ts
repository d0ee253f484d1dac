/**
 * TypeScript modules a user hands to turnwise (a `--config` file, a `serve --backend-module`). From
 * the repository turnwise runs under tsx, which imports them; the installed package is compiled
 * JavaScript on plain Node, which cannot, so they go through tsx (an optional peer dependency)
 * found in the user's project.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './errors.js';

/** A `.ts`, `.mts` or `.cts` path. */
export function isTypeScriptFile(path: string): boolean {
  return /\.[cm]?ts$/i.test(path);
}

/**
 * The file URL of tsx's ESM API (`register`, `tsImport`), resolved from each of `from` (paths or
 * file URLs) in turn; a ConfigError naming `file` when tsx is not installed.
 */
export function tsxApiUrl(file: string, from: string[]): string {
  for (const base of from) {
    try {
      // require.resolve finds the CommonJS entry; the ESM one sits next to it.
      return pathToFileURL(
        createRequire(base)
          .resolve('tsx/esm/api')
          .replace(/\.cjs$/, '.mjs'),
      ).href;
    } catch {
      // not resolvable from this base; try the next
    }
  }
  throw new ConfigError(
    `${file} is TypeScript, which Node ${process.version} cannot import by itself: ` +
      `install tsx in your project (npm install --save-dev tsx) or pass the compiled JavaScript`,
  );
}

/**
 * Imports a module a user names (a config file, a task module): directly, and through tsx's
 * `tsImport` when this Node cannot load its TypeScript by itself (compiled turnwise on plain Node),
 * or when the direct import misreads it: a `.ts` file outside any `"type": "module"` package is
 * CommonJS to Node, so under tsx's hooks its `export default` fails as "Cannot require() ES Module
 * in a cycle" and its type annotations as syntax errors. `what` names it in the error when tsx is
 * missing.
 */
export async function importUserModule(path: string, what: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  return (await import(url).catch(async (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    const misread = isTypeScriptFile(path) && (code === 'ERR_REQUIRE_CYCLE_MODULE' || error instanceof SyntaxError);
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && !misread) throw error;
    const tsx = (await import(tsxApiUrl(what, [path, import.meta.url]))) as {
      tsImport(specifier: string, parentURL: string): Promise<Record<string, unknown>>;
    };
    return esModuleNamespace(await tsx.tsImport(url, import.meta.url));
  })) as Record<string, unknown>;
}

/** The exports of a module compiled to CommonJS (its namespace's `default` marked `__esModule`), else `namespace`. */
function esModuleNamespace(namespace: Record<string, unknown>): Record<string, unknown> {
  const exports = namespace.default as Record<string, unknown> | null | undefined;
  return typeof exports === 'object' && exports !== null && exports.__esModule === true ? exports : namespace;
}
