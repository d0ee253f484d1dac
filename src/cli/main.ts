/**
 * The `turnwise` command. Each subcommand lives in its own file under src/cli/ and is loaded only
 * when it is run, so `turnwise --help` stays fast and a broken optional dependency of one command
 * never breaks another.
 */
import { TurnwiseError } from '../errors.js';
import type { Command } from './command.js';

const COMMANDS: Record<string, () => Promise<Command>> = {
  // Subcommands register here, one line each: name -> lazy import of src/cli/<name>.ts.
  data: async () => (await import('./data.js')).command,
  report: async () => (await import('./report.js')).command,
  train: async () => (await import('./train.js')).command,
  eval: async () => (await import('./eval.js')).command,
  credit: async () => (await import('./credit.js')).command,
  demo: async () => (await import('./demo.js')).command,
  experiment: async () => (await import('./experiment.js')).command,
  serve: async () => (await import('./serve.js')).command,
  export: async () => (await import('./export.js')).command,
};

/** The command list with each command's summary (loading every command; only for --help). */
async function usage(): Promise<string> {
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(...names.map((name) => name.length));
  const lines = ['usage: turnwise <command> [options]', '', 'commands:'];
  for (const name of names) {
    const summary = await COMMANDS[name]!().then(
      (command) => command.summary,
      (error: unknown) => `(cannot load: ${error instanceof Error ? error.message : String(error)})`,
    );
    lines.push(`  ${name.padEnd(width)}  ${summary}`);
  }
  lines.push('', 'Run `turnwise <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name === undefined ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(
      `turnwise: unknown command ${JSON.stringify(name)}; expected one of: ` +
        `${Object.keys(COMMANDS).sort().join(', ') || '(none yet)'}`,
    );
    return 2;
  }
  const command = await load();
  try {
    return (await command.run(rest)) ?? 0;
  } catch (error) {
    if (error instanceof TurnwiseError) {
      console.error(`turnwise ${name}: ${error.name}: ${error.message}`);
      return 2;
    }
    // node:util parseArgs: an unknown flag, a flag without its value, a stray positional.
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      console.error(
        `turnwise ${name}: ${(error as Error).message} (config keys take a value: ` +
          `--key.path=value; see \`turnwise ${name} --help\`)`,
      );
      return 2;
    }
    throw error;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly || process.env.TURNWISE_CLI === '1') {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
