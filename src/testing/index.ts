/**
 * The public test kit, imported as `turnwise/testing`: a scripted policy, a byte-level tokenizer
 * and a bigram backend that learns in milliseconds, so environments, tools, rewards and training
 * code can be tested without a model or a network, through the same rollout loop as training.
 */
export { ByteTokenizer, BYTE_TOKENIZER_SPECIAL_TOKENS, type ByteTokenizerOptions } from './byte-tokenizer.js';
export {
  ScriptedPolicy,
  ScriptExhaustedError,
  fakeLogprob,
  type ScriptCall,
  type ScriptedPolicyOptions,
} from '../rollout/scripted-policy.js';
export { trajectoryFromMessages, assistantMessage, userMessage } from './trajectory-from-messages.js';
export { scriptedRollout, type ScriptedRolloutOptions } from './scripted-rollout.js';
export {
  syntheticTrajectory,
  syntheticGroup,
  type SyntheticTrajectorySpec,
  type SyntheticTurn,
} from '../advantage/synthetic-trajectory.js';
export { workedVectorGroup } from '../advantage/worked-vector.js';
export { BigramTestBackend, type BigramTestBackendOptions } from './bigram-test-backend.js';
export { createToyTask } from './toy-task.js';
export {
  createMcpTestServer,
  createListingMcpServer,
  mcpStdioTestServer,
  mcpTestServerState,
  startMcpHttpTestServer,
  type ListedMcpTool,
  type McpHttpTestServer,
  type McpTestServerState,
} from './mcp-test-server.js';
export { QWEN25_CHAT_TEMPLATE } from './qwen25-chat-template.js';
