/** A subcommand of `turnwise`: a one-line summary and a runner that receives the remaining arguments. */
export interface Command {
  summary: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: a command may end without an exit code (0)
  run(args: string[]): Promise<number | void>;
}
