/**
 * The public API of turnwise (`import ... from 'turnwise'`), re-exported by name and grouped by
 * folder in the order of the data flow: env, rewards, rollout, advantage, loss, backends, train,
 * report. The rest has its own subpath: `turnwise/engine` (the CPU transformer), `turnwise/search-qa`
 * (the paper's task), `turnwise/server` (`turnwise serve` as a library), `turnwise/testing` (test doubles).
 */
export type {
  Message,
  Role,
  ToolCall,
  ToolSpec,
  TokenSpan,
  StopReason,
  Turn,
  Trajectory,
  TrajectoryGroup,
  GroupAdvantages,
} from './types.js';
export {
  TurnwiseError,
  ConfigError,
  DataError,
  ShapeError,
  CheckpointError,
  RemoteError,
  ToolError,
} from './errors.js';
export { Random, type RandomState } from './random.js';
export { ConcurrencyLimit } from './concurrency-limit.js';
export type { Datum, LossSpec, ForwardBackwardResult, AdamParams } from './training-types.js';

// env
export { defineTool, type Tool, type ToolArgs, type ToolContext } from './env/tool.js';
export {
  jsonSchemaParameters,
  isJsonSchemaParameters,
  type JsonSchemaParameters,
  type JsonSchemaParametersOptions,
} from './env/json-schema-parameters.js';
export type { Env, EnvFactory, EnvStep, EnvStepOptions } from './env/env.js';
export { ToolEnv, type ToolEnvOptions } from './env/tool-env.js';
export {
  NO_TOOL_CALL_ERROR,
  EMPTY_OUTPUT_ERROR,
  type MessageFormat,
  type DecodedToolCall,
} from './env/message-format.js';
export {
  XmlFormat,
  PAPER_SYSTEM_PROMPT_TEMPLATE,
  formatToolDescriptions,
  type XmlFormatOptions,
} from './env/xml-format.js';
export { HermesFormat, HERMES_DEFAULT_PREAMBLE, type HermesFormatOptions } from './env/hermes-format.js';
export {
  toolArguments,
  toolJsonSchema,
  validateToolArguments,
  type ToolArgument,
  type ArgumentCheck,
} from './env/tool-schema.js';
export { runTool, type ToolRun, type RunToolOptions } from './env/run-tool.js';
export { parseTag, parseTags } from './env/xml-tags.js';
export { toHermesMessages, hermesToolsSection, hermesToolCallText } from './env/hermes-chat.js';
export { mcpTools, type McpTools, type McpToolsOptions } from './env/mcp-tools.js';
export { McpConnection, type McpServerOptions, type McpStdioServer, type McpHttpServer } from './env/mcp-connection.js';
export { mcpResultText } from './env/mcp-result.js';
export {
  openAiTools,
  executeToolCall,
  type OpenAiFunctionTool,
  type ToolCallRequest,
  type ExecuteToolCallOptions,
} from './env/openai-tools.js';

// rewards
export {
  defineReward,
  withWeight,
  completionMessages,
  type RewardFunction,
  type RewardContext,
} from './rewards/reward-function.js';
export { Rubric, RewardError, hasRewardErrors, REWARD_ERRORS_COMPONENT, type RubricOptions } from './rewards/rubric.js';
export { createPaperRubric, type PaperRubricOptions } from './rewards/paper-rubric.js';
export {
  toolExecutionReward,
  searchAnswerReward,
  firstToolResult,
  type ToolRewardOptions,
} from './rewards/tool-rewards.js';
export {
  answerPresenceReward,
  exactMatchReward,
  lastAnswer,
  type AnswerRewardOptions,
} from './rewards/answer-rewards.js';
export {
  xmlFormatReward,
  xmlTagUsageReward,
  xmlFormatScore,
  xmlTagUsageScore,
  PAPER_XML_FIELDS,
  type XmlRewardOptions,
} from './rewards/xml-rewards.js';
export {
  normalizePaper,
  normalizeSquad,
  normalizeTriviaQa,
  type AnswerNormalizer,
} from './rewards/normalize-answer.js';
export { defaultAnswers, type AnswersOf } from './rewards/answers.js';

// rollout
export type {
  Policy,
  SampleRequest,
  SampleResult,
  SamplingParams,
  TokenLogprob,
  GeneratedToken,
} from './rollout/policy.js';
export type { Tokenizer } from './rollout/tokenizer.js';
export type { ChatRenderer, RenderOptions } from './rollout/chat-renderer.js';
export {
  ChatTemplateRenderer,
  CHATML_TEMPLATE,
  type ChatTemplateRendererOptions,
} from './rollout/chat-template-renderer.js';
export { runRollout, PAPER_SAMPLING, type RolloutOptions, type RolloutSampling } from './rollout/rollout.js';
export { rolloutGroups, type GroupRolloutOptions } from './rollout/group-rollout.js';
export {
  ScriptedPolicy,
  ScriptExhaustedError,
  fakeLogprob,
  type ScriptCall,
  type ScriptedPolicyOptions,
} from './rollout/scripted-policy.js';

// advantage
export type { AdvantageEstimator } from './advantage/estimator.js';
export { createGrpoOr } from './advantage/grpo-or.js';
export { createGrpoMr } from './advantage/grpo-mr.js';
export { createMtGrpo, type MtGrpoOptions } from './advantage/mt-grpo.js';
export { createMtGrpoK, type MtGrpoKOptions } from './advantage/mt-grpo-k.js';
export { createRloo, type RlooOptions } from './advantage/rloo.js';
export { createDrGrpo, type DrGrpoOptions } from './advantage/dr-grpo.js';
export {
  createEstimator,
  estimatorConfigSchema,
  ESTIMATORS,
  ESTIMATOR_KINDS,
  type EstimatorConfig,
} from './advantage/create-estimator.js';
export { defineEstimator, type EstimatorDefinition } from './advantage/estimator.js';
export {
  groupNormalize,
  groupCenter,
  leaveOneOut,
  groupRewards,
  NORM_EPSILON,
  type GroupRewards,
} from './advantage/group-stats.js';
export { toolSteps, firstToolResultStart, type ToolStep } from './advantage/token-layout.js';
export {
  checkCreditInvariants,
  hasCreditErrors,
  type CreditIssue,
  type CreditIssueKind,
  type CreditCheckOptions,
} from './advantage/credit-invariants.js';
export {
  inspectCredit,
  renderCreditTable,
  type GroupCredit,
  type RolloutCredit,
  type TurnCredit,
  type SpanCredit,
} from './advantage/credit-report.js';

// loss
export { buildDatum, buildGroupDatums, type BuildDatumOptions } from './loss/build-datum.js';
export { policyLoss, type PolicyLossInput, type PolicyLossResult } from './loss/policy-loss.js';
export { normalizationCoefficients } from './loss/loss-normalization.js';
export { klK3, klK3Gradient } from './loss/kl.js';
export { foldKlPenalty } from './loss/kl-penalty.js';

// backends
export type { Backend, ReferencePolicy } from './backends/backend.js';
export { LocalBackend, type LocalBackendOptions } from './backends/local.js';
export {
  createLocalBackend,
  loadCheckpointChat,
  TOKENIZER_FILES,
  type CreateLocalBackendOptions,
  type CheckpointChat,
} from './backends/create-local-backend.js';
export {
  backendConfigSchema,
  BACKEND_CONNECTION_KEYS,
  checkBackendEnvironment,
  tinkerApiKey,
  type BackendConfig,
} from './backends/backend-config.js';
export { makeBackend, type MakeBackendOptions } from './backends/make-backend.js';
export { TinkerBackend, type TinkerBackendOptions } from './backends/tinker/tinker-backend.js';
export { TinkerReferenceSampler } from './backends/tinker/reference-sampler.js';
export { TinkerSamplingPolicy, type TinkerSamplerConnectOptions } from './backends/tinker/sampling-client.js';
export { CAPABILITY_PRESETS, type TinkerCapabilities } from './backends/tinker/capabilities.js';
export type { RetryPolicy } from './backends/tinker/transport.js';
export { ClientStats } from './backends/tinker/client-stats.js';
export { downloadCheckpointArchive, parseTinkerPath } from './backends/tinker/archive-download.js';
export { VllmPolicy, type VllmSamplerOptions } from './backends/vllm-sampler.js';

// gateway: agents of one's own (OpenAI SDK, AI SDK) trained through the OpenAI-compatible gateway
export { createAgentTask, type AgentTaskOptions, type AgentContext } from './gateway/agent-task.js';
export { trajectoryFromCalls, type RecordedCall, type RolloutIdentity } from './gateway/trajectory-from-calls.js';
export { hermesTextRubric } from './gateway/hermes-text-rubric.js';

// train
export {
  trainConfigSchema,
  trainConfigSchemaWith,
  taskSectionSchema,
  resolveRunDir,
  type TrainConfig,
  type TrainConfigInput,
} from './train/config.js';
export {
  loadConfig,
  resolveConfig,
  applyOverrides,
  readConfigFile,
  readRunConfig,
  runConfigHashes,
  writeResolvedConfig,
  configHash,
  describeConfig,
  type ConfigTasks,
} from './train/config-load.js';
export { runRl, learningRateAt, type RlRunOptions, type RlRunResult } from './train/rl-loop.js';
export type { TrainingTask, TaskDefinition, TaskBase, RolloutContext, AnyTaskDefinition } from './train/task.js';
export {
  availableSplits,
  evaluate,
  evaluationRows,
  evalTrajectoriesPath,
  writeEvalResult,
  type EvaluatedTrajectory,
} from './train/evaluate.js';
export {
  openBackend,
  startingPoint,
  stopOnSigint,
  trainRun,
  evaluateInto,
  type StartingPoint,
} from './train/pipeline.js';
export type { EvalResult } from './train/eval-result.js';
export { HELD_OUT_SPLITS } from './train/eval-result.js';
export { saveCheckpoint, restoreLatest, latestCheckpoint, readTrainerState } from './train/run-state.js';
export { exportRun, type ExportRunOptions, type ExportResult } from './train/export-run.js';
export { RunLog, trajectoryRecord, type LoggedTrajectory, type TrajectoryRecord } from './train/metrics-log.js';
export { ProgressReporter, type ProgressField } from './train/progress.js';
export { firstToolCallOutcome, rolloutMetrics, type ToolCallOutcome } from './train/rollout-metrics.js';

// report
export { renderReport } from './report/html-report.js';
export { writeReport, PAPER_RESULTS } from './report/write-report.js';
export { formatResultsTable } from './report/results-table.js';
