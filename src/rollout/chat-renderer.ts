/**
 * The ChatRenderer contract: messages to token ids, built so that a multi-turn rollout only ever
 * appends tokens. The prompt is rendered once; after each sampled assistant turn, the environment's
 * reply is rendered as the tokens that follow the sampled ones (closing the assistant turn, the
 * reply, and the opening of the next assistant turn). Earlier turns are never re-tokenised.
 * A reply may be several messages (one per tool call of the turn); they are rendered together.
 */
import type { Message, ToolSpec } from '../types.js';

/** What a prompt is rendered with besides its messages. */
export interface RenderOptions {
  /** Tools the model may call, given to the chat template as Hugging Face's `apply_chat_template(tools=...)` does. */
  tools?: ToolSpec[];
}

/** Renders chat messages to token ids for one model family. */
export interface ChatRenderer {
  /** Tokens of the conversation so far plus the opening of an assistant turn (generation prompt). */
  renderPrompt(messages: Message[], options?: RenderOptions): number[];
  /**
   * True when this renderer writes `options.tools`, assistant `toolCalls` and `tool` messages
   * itself (a chat template with tool support); otherwise a caller with tools writes them into the
   * messages' text first (see `toHermesMessages`).
   */
  readonly rendersTools?: boolean;
  /**
   * Tokens that follow a sampled assistant turn when the environment answers with `reply`:
   * the assistant turn's end, the reply, and the next assistant turn's opening.
   * `assistant` is the sampled assistant message as decoded (end-of-turn token text included when
   * it was sampled); template-based renderers need it to check the prefix property.
   */
  renderReply(reply: Message | Message[], assistant?: Message): number[];
  /** Token ids that end an assistant turn by themselves (e.g. `<|im_end|>`), for the sampler. */
  readonly stopTokenIds: number[];
  /**
   * A fresh renderer with the same settings and no conversation, for renderers that keep
   * per-conversation state; the rollout loop forks before each rollout, so one shared instance
   * (e.g. `Backend.renderer`) is safe under concurrent rollouts. Stateless renderers omit it.
   */
  fork?(): ChatRenderer;
}
