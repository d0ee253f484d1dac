/**
 * Fault injection of the Tinker-protocol server, for testing clients against the failures real
 * services show: delayed futures, 408 / 410 on `retrieve_future`, 429 / 503 on any call, and
 * connections dropped before or after the request was processed. Configured in code or through
 * `TURNWISE_FAULTS`, e.g. `delay=200,408=0.1,410=0.05,429=0.1,5xx=0.1,drop=0.05,drop_after=0.05,seed=7`.
 * Draws come from the seeded generator, so a single-client run is reproducible. Two faults are
 * counts, not rates, so tests need no clock: `hold_polls=N` holds the first N polls of every future
 * (of the `paths` given) for the whole long poll and answers them as still running, and `pause=N`
 * answers the next N requests with 402 (a paused account). `latency=MS` answers every call that
 * much later (a slow network: the pipelining benchmark uses it).
 */
import { ConfigError } from '../../errors.js';
import { Random } from '../../random.js';

/** Probabilities (0..1) of each fault per request, and the delay of futures. */
export interface FaultConfig {
  /** A finished future reports `try_again` for this many more milliseconds. */
  delayFuturesMs: number;
  /** Every `/api/v1` call is handled this many milliseconds after it arrives (network latency). */
  latencyMs: number;
  /** `retrieve_future` answers 408 (long-poll timeout). */
  rate408: number;
  /** `retrieve_future` answers 410 (future expired: the client resubmits). */
  rate410: number;
  /** Any call answers 429 with `retry-after-ms`. */
  rate429: number;
  /** Any call answers 503. */
  rate5xx: number;
  /** The connection is destroyed before the request is processed. */
  rateDrop: number;
  /** The request is processed, then the connection is destroyed instead of answering. */
  rateDropAfter: number;
  /** `retry-after-ms` sent with 429 / 503. */
  retryAfterMs: number;
  /** Every future's first this-many polls are held for the whole long poll and answered as still running. */
  holdPolls: number;
  /** The next this-many requests answer 402 (the account is paused). */
  pause: number;
  seed: number;
  /** Only these paths (e.g. `/api/v1/optim_step`) get faults, and held polls; default every `/api/v1` path. */
  paths?: string[];
}

/** No faults. */
export const NO_FAULTS: FaultConfig = {
  delayFuturesMs: 0,
  latencyMs: 0,
  rate408: 0,
  rate410: 0,
  rate429: 0,
  rate5xx: 0,
  rateDrop: 0,
  rateDropAfter: 0,
  retryAfterMs: 20,
  holdPolls: 0,
  pause: 0,
  seed: 0,
};

const KEYS: Record<string, Exclude<keyof FaultConfig, 'paths'>> = {
  delay: 'delayFuturesMs',
  latency: 'latencyMs',
  '408': 'rate408',
  '410': 'rate410',
  '429': 'rate429',
  '5xx': 'rate5xx',
  drop: 'rateDrop',
  drop_after: 'rateDropAfter',
  retry_after: 'retryAfterMs',
  hold_polls: 'holdPolls',
  pause: 'pause',
  seed: 'seed',
};

/** Parses a `key=value,...` fault spec (the `TURNWISE_FAULTS` format). */
export function parseFaultSpec(spec: string): FaultConfig {
  const config = { ...NO_FAULTS };
  for (const part of spec
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [key, raw] = part.split('=');
    const field = KEYS[key ?? ''];
    const value = Number(raw);
    if (!field || raw === undefined || !Number.isFinite(value) || value < 0) {
      throw new ConfigError(
        `fault spec entry ${JSON.stringify(part)}: expected key=value with ` +
          `key one of ${Object.keys(KEYS).join(', ')} and a non-negative number`,
      );
    }
    if (field.startsWith('rate') && value > 1)
      throw new ConfigError(`fault spec entry ${JSON.stringify(part)}: a rate must be between 0 and 1`);
    config[field] = value;
  }
  return config;
}

/** A fault decided for one request. */
export type Fault = 'none' | '408' | '410' | '429' | '5xx' | 'drop' | 'drop_after';

/** Decides, request by request, which fault to inject. */
export class FaultInjector {
  readonly config: FaultConfig;
  private readonly random: Random;
  /** How many of each fault were injected. */
  readonly injected: Record<string, number> = {};
  private pausesLeft: number;

  constructor(config: Partial<FaultConfig> = {}) {
    this.config = { ...NO_FAULTS, ...config };
    this.random = new Random(this.config.seed);
    this.pausesLeft = this.config.pause;
  }

  /** Answers the next `count` requests with 402. */
  pauseNext(count: number): void {
    this.pausesLeft = count;
  }

  /** True when this request answers 402 (and counts it). */
  takePause(): boolean {
    if (this.pausesLeft <= 0) return false;
    this.pausesLeft--;
    this.injected['402'] = (this.injected['402'] ?? 0) + 1;
    return true;
  }

  /** How many polls of a future submitted to `path` are held. */
  heldPolls(path: string | undefined): number {
    if (this.config.holdPolls <= 0 || (this.config.paths && (path === undefined || !this.config.paths.includes(path))))
      return 0;
    return this.config.holdPolls;
  }

  /** Counts one held poll. */
  countHeldPoll(): void {
    this.injected.hold_polls = (this.injected.hold_polls ?? 0) + 1;
  }

  /** True when any fault can happen. */
  get active(): boolean {
    const c = this.config;
    return c.delayFuturesMs > 0 || c.rate408 + c.rate410 + c.rate429 + c.rate5xx + c.rateDrop + c.rateDropAfter > 0;
  }

  /** The fault of one request to `path`; `retrieve_future` may also get 408 / 410. */
  decide(path: string): Fault {
    const c = this.config;
    if (c.paths && !c.paths.includes(path)) return 'none';
    const retrieve = path === '/api/v1/retrieve_future';
    const candidates: [Fault, number][] = [
      ['drop', c.rateDrop],
      ['429', c.rate429],
      ['5xx', c.rate5xx],
      ['drop_after', c.rateDropAfter],
    ];
    if (retrieve) candidates.push(['408', c.rate408], ['410', c.rate410]);
    for (const [fault, rate] of candidates) {
      if (rate > 0 && this.random.next() < rate) {
        this.injected[fault] = (this.injected[fault] ?? 0) + 1;
        return fault;
      }
    }
    return 'none';
  }
}
