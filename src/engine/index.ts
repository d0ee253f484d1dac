/**
 * `turnwise/engine`: the embedded CPU transformer as a library: the model (Llama/Qwen2 on one flat
 * parameter buffer), its training and sampling, AdamW, the kernels contract, Hugging Face formats
 * (safetensors, checkpoints) and the byte-level BPE tokenizer. The training loop reaches it through
 * the `local` Backend; import from here to use the engine directly.
 */
export {
  ModelConfigSchema,
  parseModelConfig,
  modelDims,
  configToJson,
  type ModelConfig,
  type ModelConfigInput,
} from './model-config.js';
export { parameterLayout, type ParameterTensor, type ParameterLayout } from './parameters.js';
export { Transformer, type TransformerOptions, type TokenBatch } from './transformer.js';
export { AdamW, type AdamWSettings } from './adamw.js';
export { forwardBackward, forwardOnly, crossEntropyGradient, type LogprobGradient } from './training.js';
export { EnginePolicy, type EnginePolicyOptions, type EnginePolicyStats } from './engine-policy.js';
export { saveModelCheckpoint, loadModelCheckpoint, modelTensors, loadModelTensors } from './model-state.js';

// kernels
export type { Kernels, FloatArray } from './kernels/kernels.js';
export { loadKernels, nativeKernelsUnavailableReason, type LoadKernelsOptions } from './kernels/index.js';
export { referenceKernels } from './kernels/reference/index.js';

// formats
export {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  encodeSafetensors,
  decodeSafetensors,
  type TensorData,
  type SafetensorsDtype,
  type SafetensorsContents,
} from './safetensors.js';
export {
  writeCheckpoint,
  readCheckpoint,
  validateTensorShapes,
  CHECKPOINT_FILES,
  type CheckpointContents,
  type ReadCheckpointOptions,
  type ExpectedShapes,
} from './checkpoint.js';
export { writeHfDirectory, hfSideFiles, type HfDirectoryContents } from './hf-directory.js';
export { readTar, writeTar } from './tar-archive.js';

// LoRA
export {
  LORA_MODULES,
  DEFAULT_LORA_ALPHA,
  loraSpecFromTinker,
  loraTargets,
  parseAdapterConfig,
  adapterScale,
  peftAdapterConfig,
  peftTensorName,
  type LoraSpec,
  type LoraModule,
  type LoraTarget,
  type AdapterConfig,
} from './lora/lora-config.js';
export { LoraAdapter } from './lora/lora-adapter.js';
export { loraWeight, mergeLoraAdapter, planLoraMerge, type LoraMergeOp } from './lora/lora-merge.js';
export {
  ADAPTER_FILES,
  peftAdapterFiles,
  decodePeftAdapter,
  readPeftAdapter,
  hasPeftAdapter,
  type PeftAdapter,
} from './lora/peft-files.js';

// tokenizer
export { trainBpe, CHATML_SPECIAL_TOKENS, type BpeTrainerOptions, type TrainedBpe } from './tokenizer/bpe-trainer.js';
export {
  buildTokenizerJson,
  buildTokenizerConfig,
  tokenizerFiles,
  writeTokenizerFiles,
  CHATML_CHAT_TEMPLATE,
  type TokenizerConfigOptions,
} from './tokenizer/tokenizer-files.js';
export { HfTokenizer, loadTokenizer } from './tokenizer/hf-tokenizer.js';
