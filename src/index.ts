/**
 * The public API of turnwise, re-exported by name and grouped by folder.
 */
export type { Message, Role, ToolCall, TokenSpan, StopReason, Turn, Trajectory, TrajectoryGroup, GroupAdvantages } from './types.js';
export { TurnwiseError, ConfigError, DataError, ShapeError, CheckpointError, RemoteError, ToolError } from './errors.js';
export { Random, type RandomState } from './random.js';

// env
export { defineTool, type Tool, type ToolContext } from './env/tool.js';
export type { Env, EnvFactory, EnvStep, EnvStepOptions } from './env/env.js';
export { ToolEnv, type ToolEnvOptions } from './env/tool-env.js';
export { NO_TOOL_CALL_ERROR, EMPTY_OUTPUT_ERROR, type MessageFormat, type DecodedToolCall } from './env/message-format.js';
export { XmlFormat, PAPER_SYSTEM_PROMPT_TEMPLATE, formatToolDescriptions, type XmlFormatOptions } from './env/xml-format.js';
export { HermesFormat, HERMES_DEFAULT_PREAMBLE, type HermesFormatOptions } from './env/hermes-format.js';
export { toolArguments, toolJsonSchema, validateToolArguments, type ToolArgument, type ArgumentCheck } from './env/tool-schema.js';
export { runTool, type ToolRun, type RunToolOptions } from './env/run-tool.js';
export { parseTag } from './env/xml-tags.js';

// rewards
export { defineReward, withWeight, completionMessages, type RewardFunction, type RewardContext } from './rewards/reward-function.js';
export { Rubric, RewardError, hasRewardErrors, REWARD_ERRORS_COMPONENT, type RubricOptions } from './rewards/rubric.js';
export { createPaperRubric, type PaperRubricOptions } from './rewards/paper-rubric.js';
export { toolExecutionReward, searchAnswerReward, firstToolResult, type ToolRewardOptions } from './rewards/tool-rewards.js';
export { answerPresenceReward, exactMatchReward, lastAnswer, type AnswerRewardOptions } from './rewards/answer-rewards.js';
export { xmlFormatReward, xmlTagUsageReward, xmlFormatScore, xmlTagUsageScore, PAPER_XML_FIELDS, type XmlRewardOptions } from './rewards/xml-rewards.js';
export { normalizePaper, normalizeSquad, normalizeTriviaQa, type AnswerNormalizer } from './rewards/normalize-answer.js';
export { defaultAnswers, type AnswersOf } from './rewards/answers.js';

// rollout
export type { Policy, SampleRequest, SampleResult, SamplingParams } from './rollout/policy.js';
export type { Tokenizer } from './rollout/tokenizer.js';
export type { ChatRenderer } from './rollout/chat-renderer.js';
export { ChatTemplateRenderer, CHATML_TEMPLATE, type ChatTemplateRendererOptions, type ChatRendererFactory } from './rollout/chat-template-renderer.js';
export { runRollout, PAPER_SAMPLING, type RolloutOptions, type RolloutSampling } from './rollout/rollout.js';
export { rolloutGroups, type GroupRolloutOptions } from './rollout/group-rollout.js';
export { ConcurrencyLimit } from './rollout/concurrency-limit.js';

// advantage
export type { AdvantageEstimator } from './advantage/estimator.js';
export { createGrpoOr } from './advantage/grpo-or.js';
export { createGrpoMr } from './advantage/grpo-mr.js';
export { createMtGrpo, type MtGrpoOptions } from './advantage/mt-grpo.js';
export { createMtGrpoK, type MtGrpoKOptions } from './advantage/mt-grpo-k.js';
export { createRloo, type RlooOptions } from './advantage/rloo.js';
export { createDrGrpo, type DrGrpoOptions } from './advantage/dr-grpo.js';
export { createEstimator, estimatorConfigSchema, ESTIMATOR_KINDS, type EstimatorConfig } from './advantage/create-estimator.js';
export { groupNormalize, groupCenter, leaveOneOut, groupRewards, NORM_EPSILON, type GroupRewards } from './advantage/group-stats.js';
export { toolSteps, firstToolResultStart, type ToolStep } from './advantage/token-layout.js';
export { checkCreditInvariants, hasCreditErrors, type CreditIssue, type CreditIssueKind, type CreditCheckOptions } from './advantage/credit-invariants.js';
export { inspectCredit, renderCreditTable, type GroupCredit, type RolloutCredit, type TurnCredit, type SpanCredit } from './advantage/credit-report.js';

// loss
export { buildDatum, buildGroupDatums, type BuildDatumOptions } from './loss/build-datum.js';
export { policyLoss, type PolicyLossInput, type PolicyLossResult } from './loss/policy-loss.js';
export { normalizationCoefficients } from './loss/loss-normalization.js';
export { klK3, klK3Gradient } from './loss/kl.js';

// backends
export type { Backend, Datum, LossSpec, ForwardBackwardResult, AdamParams } from './backends/backend.js';

// engine
export { ModelConfigSchema, parseModelConfig, modelDims, configToJson, type ModelConfig, type ModelConfigInput } from './engine/model-config.js';
export { parameterLayout, type ParameterTensor, type ParameterLayout } from './engine/parameters.js';
export { Transformer, type TransformerOptions, type TokenBatch } from './engine/transformer.js';
export { AdamW, type AdamWSettings } from './engine/adamw.js';
export { forwardBackward, forwardOnly, crossEntropyGradient, type LogprobGradient } from './engine/training.js';
export { EnginePolicy, type EnginePolicyOptions, type EnginePolicyStats } from './engine/engine-policy.js';
export { saveModelCheckpoint, loadModelCheckpoint, modelTensors, loadModelTensors } from './engine/model-state.js';

// engine: kernels
export type { Kernels, FloatArray } from './engine/kernels/kernels.js';
export { KEY_TILE, keyCacheIndex } from './engine/kernels/kernels.js';
export { loadKernels, nativeKernelsUnavailableReason, type LoadKernelsOptions } from './engine/kernels/index.js';
export { referenceKernels } from './engine/kernels/reference/index.js';
export { measureGemm, ENGINE_GEMM_SHAPES, type GemmShape, type GemmMeasurement } from './engine/kernels/gemm-benchmark.js';

// engine: formats
export { readSafetensors, readSafetensorsHeader, writeSafetensors, encodeSafetensors, decodeSafetensors, type TensorData, type SafetensorsDtype, type SafetensorsContents } from './engine/safetensors.js';
export { writeCheckpoint, readCheckpoint, validateTensorShapes, CHECKPOINT_FILES, type CheckpointContents, type ReadCheckpointOptions, type ExpectedShapes } from './engine/checkpoint.js';

// engine: tokenizer
export { trainBpe, CHATML_SPECIAL_TOKENS, type BpeTrainerOptions, type TrainedBpe } from './engine/tokenizer/bpe-trainer.js';
export { buildTokenizerJson, buildTokenizerConfig, tokenizerFiles, writeTokenizerFiles, CHATML_CHAT_TEMPLATE, type TokenizerConfigOptions } from './engine/tokenizer/tokenizer-files.js';
export { HfTokenizer, loadTokenizer } from './engine/tokenizer/hf-tokenizer.js';

// backends
export { LocalBackend, createLocalBackend, type LocalBackendOptions, type CreateLocalBackendOptions } from './backends/local.js';
export { TinkerBackend, type TinkerBackendOptions } from './backends/tinker/tinker-backend.js';
export { TinkerSamplingPolicy, type TinkerSamplerConnectOptions } from './backends/tinker/sampling-client.js';
export { CAPABILITY_PRESETS, type TinkerCapabilities } from './backends/tinker/capabilities.js';
export { type RetryPolicy } from './backends/tinker/transport.js';
export { createTinkerServer, type TinkerServer, type TinkerServerOptions } from './backends/server/tinker-server.js';
export { WorkerBackend, type WorkerBackendOptions } from './backends/server/worker-backend.js';
export { parseFaultSpec, type FaultConfig } from './backends/server/fault-injector.js';
export { VllmPolicy, type VllmSamplerOptions } from './backends/vllm-sampler.js';

// tasks/search-qa
export { buildSearchQaData, type SearchQaManifest, type BuildSearchQaDataOptions } from './tasks/search-qa/build-data.js';
export { loadSearchQaDataset } from './tasks/search-qa/dataset.js';
export { defaultDataDir } from './tasks/search-qa/data-files.js';
export { openSearchIndex, type SearchIndex, type SearchHit, type SearchOptions } from './tasks/search-qa/search-index.js';
export { createWikiSearchTool, DEFAULT_EMPTY_MESSAGE, type WikiSearchOptions, type WikiSearchTool } from './tasks/search-qa/wiki-search-tool.js';
export { createRemoteRetrieverTool, type RemoteRetrieverOptions } from './tasks/search-qa/remote-retriever-tool.js';
export { createSearchQaRubric, goldSearchAnswerReward, type SearchQaRubricOptions } from './tasks/search-qa/task-rubric.js';
export { openSearchQaTask, type OpenedSearchQaTask } from './tasks/search-qa/search-qa-task.js';
export { readTriviaQa } from './tasks/search-qa/loaders/triviaqa.js';
export { importKiltWikipedia } from './tasks/search-qa/loaders/kilt-wikipedia.js';
export type { QuestionRow, CorpusDocument, Tier, Split } from './tasks/search-qa/types.js';

// train
export { trainConfigSchema, MODEL_PRESETS, resolveRunDir, type TrainConfig, type TrainConfigInput } from './train/config.js';
export { loadConfig, resolveConfig, applyOverrides, readConfigFile, readRunConfig, writeResolvedConfig, configHash, describeConfig } from './train/config-load.js';
export { runRl, learningRateAt, type RlRunOptions, type RlRunResult } from './train/rl-loop.js';
export type { TrainingTask } from './train/task.js';
export { evaluate, evaluationRows, evalTrajectoriesPath, writeEvalResult, type EvaluatedTrajectory } from './train/evaluate.js';
export { makeBackend, startingPoint, checkBackendEnvironment, tinkerApiKey, type TrainingBackend, type MakeBackendOptions, type StartingPoint } from './train/make-backend.js';
export { BACKEND_CONNECTION_KEYS } from './train/config.js';
export type { EvalResult } from './train/eval-result.js';
export { warmStart, warmStartKey, cachedBase } from './train/warm-start.js';
export { createSearchQaTask, SHORT_SYSTEM_PROMPT } from './train/search-qa-task.js';
export { createEngineBackend } from './train/engine-backend.js';
export { openTask, prepareBase, trainRun } from './train/pipeline.js';
export { saveCheckpoint, restoreLatest, latestCheckpoint, readTrainerState } from './train/run-state.js';
export { RunLog, trajectoryRecord, type LoggedTrajectory, type TrajectoryRecord } from './train/metrics-log.js';
export { ProgressReporter } from './train/progress.js';
export { firstToolCallOutcome, rolloutMetrics, type ToolCallOutcome } from './train/rollout-metrics.js';

// report
export { renderReport } from './report/html-report.js';
export { writeReport, PAPER_RESULTS } from './report/write-report.js';
export { formatResultsTable } from './report/results-table.js';
