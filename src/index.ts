/**
 * The public API of turnwise, re-exported by name and grouped by folder.
 */
export type { Message, Role, ToolCall, TokenSpan, StopReason, Turn, Trajectory, TrajectoryGroup, GroupAdvantages } from './types.js';
export { TurnwiseError, ConfigError, DataError, ShapeError, CheckpointError, RemoteError, ToolError } from './errors.js';
export { Random, type RandomState } from './random.js';

// env
export { defineTool, type Tool, type ToolContext } from './env/tool.js';

// rollout
export type { Policy, SampleRequest, SampleResult, SamplingParams } from './rollout/policy.js';
export type { Tokenizer } from './rollout/tokenizer.js';
export type { ChatRenderer } from './rollout/chat-renderer.js';

// backends
export type { Backend, Datum, LossSpec, ForwardBackwardResult, AdamParams } from './backends/backend.js';
