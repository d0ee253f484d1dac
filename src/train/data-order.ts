/**
 * The order in which the RL loop visits training rows: shuffled epochs drawn from the run's seeded
 * generator, consumed `questionsPerStep` at a time. Its state (epoch, position, order) goes into
 * every checkpoint so a resumed run sees the same questions in the same order.
 */
import { DataError } from '../errors.js';
import type { Random } from '../random.js';

/** Serializable position in the data order. */
export interface DataOrderState {
  epoch: number;
  position: number;
  /** Row indices of the current epoch, in visiting order. */
  order: number[];
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

  /** The next `count` row indices, starting a new shuffled epoch when one runs out. */
  next(count: number): number[] {
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
