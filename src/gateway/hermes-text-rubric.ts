/**
 * A rubric written for a ToolEnv in the Hermes format, applied to a gateway agent's trajectories.
 * The gateway records each assistant message as the agent received it (text, and its tool calls as
 * structured `toolCalls`) and each result as a `tool` message; the model read and wrote them as
 * Hermes text (`<tool_call>` blocks after the text, `<tool_response>` blocks in a user message).
 * `hermesTextRubric` scores every trajectory with its turns rewritten into that text
 * (`toHermesMessages`, the gateway's own rendering), so rewards that parse calls, results and
 * answers out of messages score an agent of one's own exactly as they score the native agent.
 */
import { toHermesMessages } from '../env/hermes-chat.js';
import { Rubric } from '../rewards/rubric.js';
import type { Message, Trajectory } from '../types.js';

/** A message as the model saw it in Hermes text (assistant calls and tool results written out). */
function asText(message: Message): Message {
  if (message.role !== 'tool' && (message.toolCalls ?? []).length === 0) return message;
  return toHermesMessages([message])[0]!;
}

/** The Rubric that scores gateway trajectories as their Hermes text; the trajectory keeps its own messages. */
class HermesTextRubric<Row> extends Rubric<Row> {
  override async score(trajectory: Trajectory, row: Row): Promise<Trajectory> {
    const turns = trajectory.turns.map((turn) => ({
      ...turn,
      assistant: asText(turn.assistant),
      ...(turn.env !== undefined && { env: asText(turn.env) }),
      ...(turn.envMessages !== undefined && { envMessages: toHermesMessages(turn.envMessages) }),
    }));
    const scored = await super.score({ ...trajectory, turns }, row);
    trajectory.turnRewards = scored.turnRewards;
    trajectory.outcomeReward = scored.outcomeReward;
    trajectory.rewardComponents = scored.rewardComponents;
    return trajectory;
  }
}

/** `rubric`'s reward functions (and error policy) scoring a gateway agent's turns as Hermes text. */
export function hermesTextRubric<Row>(
  rubric: Rubric<Row>,
  options: { onError?: 'record' | 'throw' } = {},
): Rubric<Row> {
  return new HermesTextRubric<Row>([...rubric.functions], options);
}
