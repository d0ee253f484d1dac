#!/usr/bin/env node
// `npm run check:package`: packs turnwise as npm would publish it, installs the tarball into an empty
// temporary project from the npm cache alone, and checks what a consumer gets:
//   (a) `npx turnwise --help` runs the compiled CLI (no tsx installed),
//   (b) a plain .mjs imports `createMtGrpo` and computes the paper's worked vector, and every
//       subpath export resolves,
//   (c) a .ts file type-checks against the package's .d.ts (NodeNext, strict),
//   (d) the native kernels were built in the consumer and load from dist/, or the install printed
//       the fallback warning,
//   (e) a TypeScript config without tsx installed fails in one line that says to install it.
// Offline for real: npm runs with --offline and every network request goes to a dead proxy. npm 11
// resolves a dependency without a lockfile from full registry metadata, which `npm ci` never caches,
// so the project gets a lockfile made from turnwise's own (the versions turnwise is tested with) and
// `npm ci` installs it by integrity from the cache that the repository's `npm ci` filled. The
// project allows exactly turnwise's and better-sqlite3's install scripts and installs with
// --strict-allow-scripts, as the README tells consumers to. Temporary files are removed at exit.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEAD_PROXY = 'http://127.0.0.1:9';
/**
 * The paper's worked vector as printed in its table (src/advantage/worked-vector.ts):
 * MT-GRPO's turn-1 and turn-2 advantage per rollout.
 */
const EXPECTED_TURN_ONE = [2.192, -1.0693, -2.0768, 0.9541];
const EXPECTED_TURN_TWO = [1.3493, -0.5075, -0.9532, 0.1114];
const SUBPATHS = ['turnwise/engine', 'turnwise/search-qa', 'turnwise/server', 'turnwise/testing'];

const started = performance.now();
const temp = mkdtempSync(join(tmpdir(), 'turnwise-package-'));
const children = new Set();
let cleaned = false;
function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  // each child leads its own process group: this also stops the compilers npm started
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(temp, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`check-package: ${signal}, removing ${temp}`);
    cleanUp();
    process.exit(130);
  });
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(command, args, options = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? root,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => {
      children.delete(child);
      done({ code: -1, stdout, stderr: `${stderr}${command} could not start: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      done({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const tail = (text, lines = 15) =>
  text
    .trim()
    .split('\n')
    .slice(-lines)
    .map((line) => `       | ${line}`)
    .join('\n');
/**
 * The first line that names an error (a Node crash prints its message after a few lines of source), else the last line.
 */
const firstError = (text) =>
  text.split('\n').find((line) => /^\w*Error\b/.test(line)) ?? text.trim().split('\n').at(-1) ?? '';
const failures = [];
function report(label, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${detail}`);
  if (!ok) failures.push(label);
}
function finish() {
  const outcome =
    failures.length === 0 ? 'all checks passed' : `${failures.length} check(s) failed (${failures.join(', ')})`;
  console.log(`check-package: ${outcome} in ${seconds(started)}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

// npm for the consumer: the cache only, and a dead proxy for anything that would still go out.
const offlineEnv = {
  ...process.env,
  npm_config_offline: 'true',
  npm_config_proxy: DEAD_PROXY,
  npm_config_https_proxy: DEAD_PROXY,
  npm_config_fetch_retries: '0',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};
for (const name of ['NO_PROXY', 'no_proxy', 'npm_config_noproxy']) delete offlineEnv[name];

// 1. Pack (prepack builds dist/), and check what the tarball holds.
let since = performance.now();
const packed = await run('npm', ['pack', '--json', '--pack-destination', temp]);
let pack;
try {
  pack = JSON.parse(packed.stdout)[0];
} catch {
  pack = undefined;
}
if (packed.code !== 0 || pack === undefined) {
  report('pack', false, `npm pack exited with ${packed.code}\n${tail(packed.stderr)}`);
  finish();
}
const files = pack.files.map((file) => file.path);
const required = [
  'package.json',
  'bin/turnwise.js',
  'binding.gyp',
  'scripts/build-native.mjs',
  'native/kernels.c',
  'README.md',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/cli/main.js',
  'dist/engine/kernels/native.js',
  'dist/backends/server/backend-worker.js',
  'dist/backends/server/checkpoint-backend.js',
];
const missing = required.filter((path) => !files.includes(path));
const forbidden = files.filter((path) =>
  /^(src|build)\/|\.test\.|\.bench\.|\.suite\.|__fixtures__|(^|\/)node_modules\//.test(path),
);
report(
  'pack',
  missing.length === 0 && forbidden.length === 0,
  `${pack.filename}, ${files.length} files, ${(pack.size / 1000).toFixed(0)} kB packed, ` +
    `${(pack.unpackedSize / 1e6).toFixed(2)} MB unpacked, in ${seconds(since)}` +
    (missing.length ? `; missing ${missing.join(', ')}` : '') +
    (forbidden.length
      ? `; must not ship ${forbidden.slice(0, 5).join(', ')}` +
        `${forbidden.length > 5 ? ` and ${forbidden.length - 5} more` : ''}`
      : ''),
);
const tarball = join(temp, pack.filename);

// 2. An empty project depending on the tarball (plus @types/node for the .ts check), locked to the
// versions of turnwise's own lockfile.
const project = join(temp, 'consumer');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const tarballSpec = `file:../${pack.filename}`;
const typesNode = manifest.devDependencies['@types/node'];

/**
 * Adds the lockfile paths of `names` as required from `from` (npm's node_modules
 * lookup) and all they need; a missing one is an Error unless optional.
 */
function closure(names, from, into, optional = false) {
  for (const name of names) {
    let base = from;
    let found;
    for (;;) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) {
        found = candidate;
        break;
      }
      if (!base) break;
      const cut = base.lastIndexOf('node_modules/');
      base = cut <= 0 ? '' : base.slice(0, cut - 1);
    }
    if (found === undefined) {
      if (optional) continue;
      throw new Error(`package-lock.json has no entry for ${name} (needed by ${from || 'turnwise'}); run npm install`);
    }
    if (into.has(found)) continue;
    const entry = lock.packages[found];
    into.add(found);
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (peer) => !entry.peerDependenciesMeta?.[peer]?.optional,
    );
    closure([...Object.keys(entry.dependencies ?? {}), ...peers], found, into);
    closure(Object.keys(entry.optionalDependencies ?? {}), found, into, true);
  }
  return into;
}
const packages = {
  '': {
    name: 'turnwise-package-check',
    version: '1.0.0',
    dependencies: { turnwise: tarballSpec },
    devDependencies: { '@types/node': typesNode },
  },
  'node_modules/turnwise': {
    version: manifest.version,
    resolved: tarballSpec,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
    hasInstallScript: true,
    license: manifest.license,
    dependencies: manifest.dependencies,
    bin: manifest.bin,
    engines: manifest.engines,
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
  },
};
try {
  const runtime = closure(Object.keys(manifest.dependencies), '', new Set());
  const development = closure(['@types/node'], '', new Set());
  for (const path of runtime) packages[path] = { ...lock.packages[path], dev: undefined, devOptional: undefined };
  for (const path of development)
    if (!runtime.has(path)) packages[path] = { ...lock.packages[path], dev: true, devOptional: undefined };
} catch (error) {
  report('lockfile', false, error.message);
  finish();
}
mkdirSync(project);
const lockfile = { name: 'turnwise-package-check', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
writeFileSync(join(project, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);
writeFileSync(
  join(project, 'package.json'),
  `${JSON.stringify(
    {
      name: 'turnwise-package-check',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { turnwise: tarballSpec },
      devDependencies: { '@types/node': typesNode },
      // what `npm install-scripts approve turnwise better-sqlite3` writes for a tarball dependency
      allowScripts: { [`file:${tarball}`]: true, 'better-sqlite3': true },
    },
    null,
    2,
  )}\n`,
);

// 3. Install from the cache alone, with the install scripts' output (better-sqlite3 and turnwise build from source).
since = performance.now();
const installed = await run('npm', ['ci', '--foreground-scripts', '--strict-allow-scripts'], {
  cwd: project,
  env: offlineEnv,
});
const installLog = `${installed.stdout}\n${installed.stderr}`;
const added = /added (\d+) packages?/.exec(installLog)?.[1];
report(
  'install',
  installed.code === 0,
  installed.code === 0
    ? `npm ci --offline (dead proxy) added ${added ?? '?'} packages in ${seconds(since)}`
    : `npm ci exited with ${installed.code} after ${seconds(since)}\n${tail(installLog)}`,
);
if (installed.code !== 0) finish();

// (a) the bin runs the compiled CLI; tsx is not installed in the project.
const help = await run('npx', ['turnwise', '--help'], { cwd: project, env: offlineEnv });
const tsxInstalled = existsSync(join(project, 'node_modules', 'tsx'));
const unloadable = /cannot load: (.*)\)$/m.exec(help.stdout)?.[1];
const helpOk =
  help.code === 0 &&
  /^usage: turnwise <command>/m.test(help.stdout) &&
  /^ {2}train +\S/m.test(help.stdout) &&
  !/cannot load/.test(help.stdout) &&
  !tsxInstalled;
report(
  '(a) npx turnwise --help',
  helpOk,
  helpOk
    ? `exit 0, usage with ${help.stdout.split('\n').filter((line) => /^ {2}\S/.test(line)).length} ` +
        `commands, all loadable, without tsx`
    : `exit ${help.code}${tsxInstalled ? ', tsx is installed in the project' : ''}` +
        `${/cannot load/.test(help.stdout) ? `, a command cannot load: ${unloadable}` : ''}` +
        `${help.code !== 0 ? `: ${firstError(help.stderr || help.stdout)}` : ''}`,
);

// (b) a plain .mjs: the worked vector through createMtGrpo, and every subpath. Its imports are
// dynamic so that a failure is one line (the message), not a stack trace.
writeFileSync(
  join(project, 'worked-vector.mjs'),
  `try {
  const { createMtGrpo } = await import('turnwise');
  const { workedVectorGroup } = await import('turnwise/testing');
  const expected = [${JSON.stringify(EXPECTED_TURN_ONE)}, ${JSON.stringify(EXPECTED_TURN_TWO)}];
  const group = workedVectorGroup();
  const advantages = createMtGrpo().estimate(group);
  let worst = 0;
  let tokens = 0;
  group.trajectories.forEach((trajectory, i) => {
    if (trajectory.turns.length !== 2)
      throw new Error(\`rollout \${i} has \${trajectory.turns.length} turns, expected 2\`);
    trajectory.turns.forEach((turn, k) => {
      for (let t = turn.sampled.start; t < turn.sampled.end; t++) {
        if (!trajectory.trainable[t]) continue;
        tokens++;
        const error = Math.abs(advantages[i][t] - expected[k][i]);
        if (!(error <= 1e-4))
          throw new Error(
            \`rollout \${i} turn \${k + 1} token \${t}: advantage \${advantages[i][t]}, \` +
              \`expected \${expected[k][i]} (the paper's table)\`,
          );
        worst = Math.max(worst, error);
      }
    });
  });
  if (tokens === 0) throw new Error('the worked group has no trainable tokens');
  const subpaths = [];
  for (const name of ${JSON.stringify(SUBPATHS)}) {
    const exports = Object.keys(await import(name));
    if (exports.length === 0) throw new Error(\`\${name} exports nothing\`);
    subpaths.push(\`\${name} (\${exports.length} exports)\`);
  }
  const { createRequire } = await import('node:module');
  const manifest = createRequire(import.meta.url)('turnwise/package.json');
  console.log(
    \`\${tokens} tokens within \${worst.toExponential(1)} of the paper's table; \` +
      \`turnwise \${manifest.version}; \${subpaths.join(', ')}\`,
  );
} catch (error) {
  console.error(String(error?.message ?? error).split('\\n')[0]);
  process.exit(1);
}
`,
);
const worked = await run(process.execPath, ['worked-vector.mjs'], { cwd: project });
report(
  '(b) plain .mjs: createMtGrpo on the worked vector, subpaths',
  worked.code === 0,
  worked.code === 0 ? worked.stdout.trim() : (worked.stderr || worked.stdout).trim(),
);

// (c) TypeScript against the package's types, with the repository's compiler. The @ts-expect-error
// fails the check if the types degrade to any.
const NAMESPACES = SUBPATHS.filter((name) => name !== 'turnwise/testing');
const consumerTsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    types: ['node'],
    skipLibCheck: false,
  },
  files: ['consumer.ts'],
};
writeFileSync(join(project, 'tsconfig.json'), `${JSON.stringify(consumerTsconfig, null, 2)}\n`);
writeFileSync(
  join(project, 'consumer.ts'),
  `import { createMtGrpo, ToolEnv, defineTool, type AdvantageEstimator, type TrajectoryGroup } from 'turnwise';
import { ByteTokenizer, workedVectorGroup } from 'turnwise/testing';
${NAMESPACES.map((name, i) => `import * as subpath${i} from '${name}';`).join('\n')}

const estimator: AdvantageEstimator = createMtGrpo({ lambda: 1 });
const group: TrajectoryGroup = workedVectorGroup();
const advantages: number[][] = estimator.estimate(group);
const tokenizer = new ByteTokenizer();
const ids: number[] = tokenizer.encode('hello');
// @ts-expect-error lambda is a number
createMtGrpo({ lambda: 'one' });
export const used = [advantages, ids, ToolEnv, defineTool, ${NAMESPACES.map((_, i) => `subpath${i}`).join(', ')}];
`,
);
const tscPath = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const typecheck = await run(process.execPath, [tscPath, '-p', 'tsconfig.json'], { cwd: project });
// Errors inside other packages' own declaration files are theirs (e.g. @huggingface/jinja's
// extensionless relative imports under NodeNext); any other error fails the check.
const errors = (typecheck.stdout + typecheck.stderr).split('\n').filter((line) => /error TS\d+/.test(line));
const foreign = errors.filter((line) => /^node_modules\/(?!turnwise\/)/.test(line));
const ours = errors.filter((line) => !foreign.includes(line));
const foreignPackages = [...new Set(foreign.map((line) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(line)[1]))];
const typesOk = ours.length === 0 && (typecheck.code === 0 || errors.length > 0);
const tscVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
const foreignNote = foreign.length
  ? ` (${foreign.length} in other packages' own .d.ts ignored: ${foreignPackages.join(', ')})`
  : '';
report(
  '(c) .ts type-checks against the package types (NodeNext, strict)',
  typesOk,
  typesOk
    ? `tsc ${tscVersion}: no errors in consumer.ts or turnwise's .d.ts${foreignNote}`
    : `tsc exited with ${typecheck.code}\n${tail(ours.join('\n') || typecheck.stdout + typecheck.stderr)}`,
);

// (d) the native kernels: built in the project (the tarball has
// no build/) and loaded from dist/, or the fallback warning.
writeFileSync(
  join(project, 'native.mjs'),
  `try {
  // the kernels' API: turnwise/engine, else (before the subpath had it) the root
  const engine = await import('turnwise/engine');
  const { loadKernels, nativeKernelsUnavailableReason, referenceKernels } =
    'loadKernels' in engine ? engine : await import('turnwise');
  const reason = nativeKernelsUnavailableReason();
  if (reason !== undefined) {
    console.log(JSON.stringify({ reason }));
  } else {
    const kernels = loadKernels();
    const inp = Float32Array.from({ length: 3 * 5 }, (_, i) => Math.sin(i));
    const weight = Float32Array.from({ length: 4 * 5 }, (_, i) => Math.cos(i));
    const bias = Float32Array.from([0.5, -1, 2, 0]);
    const out = new Float32Array(3 * 4);
    const expected = new Float32Array(3 * 4);
    kernels.matmulForward(out, inp, weight, bias, 3, 5, 4);
    referenceKernels.matmulForward(expected, inp, weight, bias, 3, 5, 4);
    const error = Math.max(...out.map((value, i) => Math.abs(value - expected[i])));
    console.log(JSON.stringify({ name: kernels.name, threads: kernels.threads, error }));
  }
} catch (error) {
  console.error(String(error?.message ?? error).split('\\n')[0]);
  process.exit(1);
}
`,
);
const native = await run(process.execPath, ['native.mjs'], { cwd: project });
const built = existsSync(join(project, 'node_modules', 'turnwise', 'build', 'Release', 'turnwise_kernels.node'));
const buildLines = installLog
  .split('\n')
  .filter((line) => line.startsWith('turnwise: ') || line.startsWith('  reason: '));
let nativeResult;
try {
  nativeResult = JSON.parse(native.stdout);
} catch {
  nativeResult = undefined;
}
if (native.code !== 0 || nativeResult === undefined) {
  report(
    '(d) native kernels',
    false,
    `native.mjs exited with ${native.code}: ${(native.stderr || native.stdout).trim()}`,
  );
} else if (nativeResult.reason === undefined) {
  const problems = [
    nativeResult.name !== 'native' && `loadKernels() gave the ${nativeResult.name} kernels`,
    !built && 'no addon in node_modules/turnwise/build/Release',
    files.some((path) => path.startsWith('build/')) &&
      'the tarball ships build/, so the addon was not necessarily built at install',
    !(nativeResult.error < 1e-5) && `native matmul differs from the reference by ${nativeResult.error}`,
  ].filter(Boolean);
  report(
    '(d) native kernels',
    problems.length === 0,
    problems.length > 0
      ? problems.join('; ')
      : `native kernels on ${nativeResult.threads} threads, built at install in node_modules/turnwise/build/Release ` +
          `and loaded from dist/ (matmul within ${nativeResult.error.toExponential(1)} of the reference)` +
          `${buildLines.length ? `; install said: ${buildLines.at(-1)}` : ''}`,
  );
} else {
  const warned = installLog.includes('turnwise: WARNING: the native kernels were not built');
  report(
    '(d) native kernels',
    warned,
    warned
      ? `not built, and the install printed the fallback warning (${buildLines
          .filter((line) => line.startsWith('  reason: '))
          .join(' ')
          .trim()}); at run time: ${nativeResult.reason}`
      : `not available (${nativeResult.reason}) and the install printed no fallback warning`,
  );
}

// (e) a TypeScript config without tsx (an optional peer, not
// installed here): one line that says to install it, no stack trace.
writeFileSync(join(project, 'config.ts'), 'export default { rl: { steps: 1 } };\n');
const tsConfig = await run('npx', ['turnwise', 'train', '--config', 'config.ts'], { cwd: project, env: offlineEnv });
const tsConfigLines = tsConfig.stderr.trim().split('\n');
const tsConfigOk =
  tsConfig.code === 2 &&
  tsConfigLines.length === 1 &&
  /ConfigError: config file "config\.ts" is TypeScript.*npm install --save-dev tsx/.test(tsConfigLines[0]);
report(
  '(e) turnwise train --config config.ts without tsx',
  tsConfigOk,
  tsConfigOk
    ? `exit 2: ${tsConfigLines[0]}`
    : `exit ${tsConfig.code}, expected 2 and one line naming tsx\n${tail(tsConfig.stderr + tsConfig.stdout)}`,
);

finish();
