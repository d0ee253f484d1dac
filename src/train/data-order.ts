/**
 * The order in which the RL loop visits training rows: shuffled epochs drawn from the run's seeded
 * generator, consumed `questionsPerStep` at a time. Its state (epoch, position, order) goes into
 * every checkpoint so a resumed run sees the same questions in the same order.
 */
import { ConfigError, DataError } from '../errors.js';
import type { Random } from '../random.js';

/** Serializable position in the data order. */
export interface DataOrderState {
  epoch: number;
  position: number;
  /** Row indices of the current epoch, in visiting order. */
  order: number[];
}

/**
 * Refuses a round of more questions than the training split has rows: it would repeat questions
 * within the round, and a huge count would grow the round without bound (checked up front too).
 */
export function checkQuestionsPerStep(count: number, rowCount: number): void {
  if (count > rowCount) {
    throw new ConfigError(
      `config key "rl.questionsPerStep": got ${count}, more than the ${rowCount} rows of the training split; ` +
        `expected at most ${rowCount}`,
    );
  }
}

/** Shuffled epochs over `rowCount` rows. */
export class DataOrder {
  private state: DataOrderState;

  constructor(
    private readonly rowCount: number,
    private readonly random: Random,
    state?: DataOrderState,
  ) {
    if (rowCount <= 0)
      throw new DataError('the training split has no rows; build the data first (turnwise data build)');
    if (state !== undefined && (state.order.length !== rowCount || state.order.some((i) => i < 0 || i >= rowCount))) {
      throw new DataError(
        `saved data order covers ${state.order.length} rows but ` +
          `the training split has ${rowCount}; was the data rebuilt?`,
      );
    }
    this.state = state ?? { epoch: 0, position: 0, order: this.shuffled() };
  }

  private shuffled(): number[] {
    return this.random.shuffle(Array.from({ length: this.rowCount }, (_, i) => i));
  }

  /** The next `count` row indices (at most the row count), starting a new shuffled epoch when one runs out. */
  next(count: number): number[] {
    checkQuestionsPerStep(count, this.rowCount);
    const picked: number[] = [];
    while (picked.length < count) {
      if (this.state.position >= this.state.order.length) {
        this.state = { epoch: this.state.epoch + 1, position: 0, order: this.shuffled() };
      }
      picked.push(this.state.order[this.state.position++]!);
    }
    return picked;
  }

  /** A copy of the current state, for checkpoints. */
  getState(): DataOrderState {
    return { epoch: this.state.epoch, position: this.state.position, order: [...this.state.order] };
  }
}
