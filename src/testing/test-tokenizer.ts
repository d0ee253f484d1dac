/**
 * TEST DOUBLES for the protocol tests: a character tokenizer with three ChatML special tokens and a
 * ChatML renderer over it. Real models use the tokenizer.json loader of src/engine/tokenizer/ and
 * the renderers of src/rollout/; these only give the bigram test backend something exact to
 * encode with.
 */
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { Message } from '../types.js';
import { DataError } from '../errors.js';

const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
// Printable ASCII and newline.
const CHARACTERS = ['\n', ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))];

/** Characters and ChatML specials as token ids (ids 0..2 are the specials). */
export class TestTokenizer implements Tokenizer {
  readonly vocabSize = SPECIALS.length + CHARACTERS.length;
  readonly eosTokenId = 0;

  encode(text: string): number[] {
    const ids: number[] = [];
    let i = 0;
    outer: while (i < text.length) {
      for (const [id, special] of SPECIALS.entries()) {
        if (text.startsWith(special, i)) {
          ids.push(id);
          i += special.length;
          continue outer;
        }
      }
      const index = CHARACTERS.indexOf(text[i]!);
      if (index < 0) throw new DataError(`test tokenizer: character ${JSON.stringify(text[i])} is not in its vocabulary (printable ASCII and newline)`);
      ids.push(SPECIALS.length + index);
      i++;
    }
    return ids;
  }

  decode(ids: number[]): string {
    return ids.map((id) => (id < SPECIALS.length ? SPECIALS[id] : CHARACTERS[id - SPECIALS.length] ?? '')).join('');
  }

  tokenId(token: string): number | undefined {
    const index = SPECIALS.indexOf(token);
    return index < 0 ? undefined : index;
  }

  tokenBytes(id: number): Uint8Array {
    return new TextEncoder().encode(this.decode([id]));
  }

  isSpecialToken(id: number): boolean {
    return id >= 0 && id < SPECIALS.length;
  }
}

/** ChatML: `<|im_start|>role\ncontent<|im_end|>\n` per message. */
export class TestChatRenderer implements ChatRenderer {
  readonly stopTokenIds: number[];

  constructor(private readonly tokenizer: Tokenizer) {
    this.stopTokenIds = [tokenizer.tokenId('<|im_end|>')!];
  }

  renderPrompt(messages: Message[]): number[] {
    const text = messages.map((message) => `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`).join('');
    return this.tokenizer.encode(`${text}<|im_start|>assistant\n`);
  }

  renderReply(reply: Message | Message[]): number[] {
    const replies = (Array.isArray(reply) ? reply : [reply]).map((message) => `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`).join('');
    return this.tokenizer.encode(`<|im_end|>\n${replies}<|im_start|>assistant\n`);
  }
}
