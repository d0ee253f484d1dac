/** A subcommand of `turnwise`: a one-line summary and a runner that receives the remaining arguments. */
export interface Command {
  summary: string;
  run(args: string[]): Promise<number | void>;
}
