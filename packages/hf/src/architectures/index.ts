import type { HfArchitecture } from '../architecture.js';
import { gptNeox } from './gpt-neox.js';
import { gpt2 } from './gpt2.js';
import { llama, qwen3 } from './llama.js';

/** The Hugging Face classes tinyformer exports to and imports from, in the order an export tries them. */
export const HF_ARCHITECTURES: readonly HfArchitecture[] = [llama, qwen3, gpt2, gptNeox];
