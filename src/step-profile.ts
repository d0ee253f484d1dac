/**
 * Where the time of an RL round goes: a process-wide profile of wall time per phase (prefill,
 * decode, environment, tool, reward, ...) and a few counters (rows, tokens, decoding steps). The
 * code that does the work adds its measured interval when a profile is active; when none is
 * (the default), `activeProfile()` returns undefined and an instrumented site costs one branch:
 *
 *   const profile = activeProfile();
 *   const start = profile ? performance.now() : 0;
 *   ...work...
 *   profile?.add(PHASE.decode, start);
 *
 * Every phase is measured on the main thread, where the work runs one piece at a time, so the
 * phases of a round do not overlap and the remainder of its wall time is idle: the event loop
 * between pieces of work, the rollout loop's own bookkeeping, a kernel waiting on JavaScript, the
 * main thread waiting for a tool that runs elsewhere (a worker thread's time is a counter).
 * `npm run bench:rl` (scripts/bench-rl.ts) turns a profile into its table.
 */

/** The phases, as indices into `StepProfile.seconds`. */
export const PHASE = {
  /** Decoder rows that fill a sequence's cache with prompt or tool-result tokens. */
  prefill: 0,
  /** Decoder rows that feed the token just drawn. */
  decode: 1,
  /** Drawing tokens and the sampler's per-token JavaScript (stop checks, callbacks, bookkeeping). */
  sampler: 2,
  /** Rendering prompts and replies to tokens and decoding sampled tokens to text (the rollout loop). */
  render: 3,
  /**
   * `env.reset` and `env.step` (parsing the assistant message, building the reply), the tool calls
   * included; only their synchronous part (an await lets other rollouts run, and that time is theirs).
   */
  env: 4,
  /**
   * Tool calls (the synchronous part of `tool.execute`: all of a synchronous tool such as the SQLite BM25
   * search on the main thread, only the posting of a search run in a worker thread), mostly within `env`.
   */
  tool: 5,
  /** The rubric's reward functions (the synchronous part of each `score` call). */
  reward: 6,
  /** Advantages, credit invariants and rollout metrics. */
  advantage: 7,
  /** Building the training datums. */
  datum: 8,
  /** `Backend.forwardBackward` (for the local engine: the whole call; for a service: its submission). */
  forwardBackward: 9,
  /** `Backend.optimStep`. */
  optimizer: 10,
  /** Admitting requests into cache slots: copying a group's shared prompt (a fork) into each rollout's slot. */
  admit: 11,
} as const;

/** A phase index. */
export type Phase = (typeof PHASE)[keyof typeof PHASE];

/** The phases' names, in index order. */
export const PHASE_NAMES = Object.keys(PHASE) as Array<keyof typeof PHASE>;

/** The counters, as indices into `StepProfile.counts`. */
export const COUNTER = {
  /** Decoder calls. */
  decoderSteps: 0,
  /** Decoder calls that fed at least one decoding row. */
  decodeSteps: 1,
  /** Decoding rows (one sampled token fed back each). */
  decodeRows: 2,
  /** Prefill rows. */
  prefillRows: 3,
  /** Tokens sampled. */
  sampledTokens: 4,
  /** Prompt tokens a session or a shared prefix already held (not recomputed). */
  reusedTokens: 5,
  /** Tool calls. */
  toolCalls: 6,
  /** Sequences given to forwardBackward (over all calls). */
  trainSequences: 7,
  /** Tokens given to forwardBackward (over all calls). */
  trainTokens: 8,
  /** forwardBackward calls. */
  trainSteps: 9,
  /** Decoder calls that fed fewer than THIN_DECODE_ROWS decoding rows (a round's stragglers). */
  thinDecodeSteps: 10,
  /**
   * Milliseconds tool calls ran in a worker thread (the search-QA task's `SearchWorker`). That time
   * overlaps the main thread's phases, so it is counted here and is no phase: while the main thread
   * only waits for a worker, the round's split shows idle.
   */
  workerToolMilliseconds: 11,
} as const;

/** Decoding rows below which a decoder call counts as thin. */
export const THIN_DECODE_ROWS = 16;

/** A counter index. */
export type Counter = (typeof COUNTER)[keyof typeof COUNTER];

/** The counters' names, in index order. */
export const COUNTER_NAMES = Object.keys(COUNTER) as Array<keyof typeof COUNTER>;

/** A snapshot of a profile: seconds per phase and counts, by name. */
export interface ProfileTotals {
  seconds: Record<keyof typeof PHASE, number>;
  counts: Record<keyof typeof COUNTER, number>;
}

/** One RL round: its wall time and what its phases and counters added. */
export interface RoundProfile extends ProfileTotals {
  wallSeconds: number;
  /** Process CPU seconds (all threads) of the round: less sensitive than wall time to other processes. */
  cpuSeconds: number;
  /** From the start of its sampling until every group was sampled and scored. */
  sampleSeconds: number;
  /** Process CPU seconds of that sampling. */
  sampleCpuSeconds: number;
}

/** Accumulated seconds per phase and counts; two fixed arrays, so adding allocates nothing. */
export class StepProfile {
  readonly seconds = new Float64Array(PHASE_NAMES.length);
  readonly counts = new Float64Array(COUNTER_NAMES.length);
  /** The rounds ended so far (`endRound`), in order. */
  readonly rounds: RoundProfile[] = [];
  private roundMark: ProfileTotals | undefined;
  private roundStart = { wall: 0, cpu: process.cpuUsage() };
  private sampled = { wall: 0, cpu: 0 };

  /** Starts a round (the RL loop calls this before its sampling starts; rounds must not overlap). */
  beginRound(): void {
    this.roundStart = { wall: performance.now(), cpu: process.cpuUsage() };
    this.sampled = { wall: 0, cpu: 0 };
  }

  /** Marks the round's sampling (and scoring) done. */
  endSampling(): void {
    this.sampled = { wall: this.secondsSinceStart(), cpu: cpuSeconds(process.cpuUsage(this.roundStart.cpu)) };
  }

  /** Ends the round: records its times and what its phases and counters added since the last round. */
  endRound(): void {
    const now = this.totals();
    const before = this.roundMark ?? emptyTotals();
    this.rounds.push({
      wallSeconds: this.secondsSinceStart(),
      cpuSeconds: cpuSeconds(process.cpuUsage(this.roundStart.cpu)),
      sampleSeconds: this.sampled.wall,
      sampleCpuSeconds: this.sampled.cpu,
      ...profileDelta(now, before),
    });
    this.roundMark = now;
  }

  private secondsSinceStart(): number {
    return (performance.now() - this.roundStart.wall) / 1000;
  }

  /** Adds the time since `startMs` (a `performance.now()` reading) to `phase`. */
  add(phase: Phase, startMs: number): void {
    this.seconds[phase] += (performance.now() - startMs) / 1000;
  }

  /** Adds `seconds` to `phase` (for an interval split between phases). */
  addSeconds(phase: Phase, seconds: number): void {
    this.seconds[phase] += seconds;
  }

  /** Adds `amount` to a counter. */
  count(counter: Counter, amount: number): void {
    this.counts[counter] += amount;
  }

  /** The totals so far, by name. */
  totals(): ProfileTotals {
    const seconds = {} as ProfileTotals['seconds'];
    const counts = {} as ProfileTotals['counts'];
    PHASE_NAMES.forEach((name, i) => {
      seconds[name] = this.seconds[i]!;
    });
    COUNTER_NAMES.forEach((name, i) => {
      counts[name] = this.counts[i]!;
    });
    return { seconds, counts };
  }
}

let active: StepProfile | undefined;

/** The profile being recorded, or undefined (the default: instrumented code does nothing). */
export function activeProfile(): StepProfile | undefined {
  return active;
}

/** Starts recording into a fresh profile (replacing any active one) and returns it. */
export function startProfile(): StepProfile {
  active = new StepProfile();
  return active;
}

/** Stops recording; the returned profile keeps its totals. */
export function stopProfile(): StepProfile | undefined {
  const stopped = active;
  active = undefined;
  return stopped;
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function emptyTotals(): ProfileTotals {
  return new StepProfile().totals();
}

/** The difference of two snapshots (`after - before`), e.g. one round of a run. */
export function profileDelta(after: ProfileTotals, before: ProfileTotals): ProfileTotals {
  const seconds = {} as ProfileTotals['seconds'];
  const counts = {} as ProfileTotals['counts'];
  for (const name of PHASE_NAMES) seconds[name] = after.seconds[name] - before.seconds[name];
  for (const name of COUNTER_NAMES) counts[name] = after.counts[name] - before.counts[name];
  return { seconds, counts };
}
