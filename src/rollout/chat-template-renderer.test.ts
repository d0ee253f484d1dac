import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { QWEN25_CHAT_TEMPLATE } from '../testing/qwen25-chat-template.js';
import { ChatTemplateRenderer, RECENT_ENCODINGS } from './chat-template-renderer.js';

const tokenizer = new ByteTokenizer();
const prompt = [
  { role: 'system' as const, content: 'You are helpful.' },
  { role: 'user' as const, content: 'Question: q\n' },
];

describe('ChatTemplateRenderer (ChatML)', () => {
  it('renders the prompt with the generation prompt', () => {
    const renderer = new ChatTemplateRenderer({ tokenizer });
    const tokens = renderer.renderPrompt(prompt);
    expect(tokenizer.decode(tokens)).toBe(
      '<|im_start|>system\nYou are helpful.<|im_end|>\n' +
        '<|im_start|>user\nQuestion: q\n<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderer.stopTokenIds).toEqual([tokenizer.tokenId('<|im_end|>'), tokenizer.tokenId('<|endoftext|>')]);
  });

  it('appends only the reply suffix, so prompt + sampled + suffix equals a full render', () => {
    const renderer = new ChatTemplateRenderer({ tokenizer });
    const promptTokens = renderer.renderPrompt(prompt);
    const sampledText = '<tool>{"name": "x"}</tool>';
    const reply = { role: 'user' as const, content: '<result>\nok\n</result>' };
    const suffix = renderer.renderReply(reply, { role: 'assistant', content: sampledText });
    expect(tokenizer.decode(suffix)).toBe(
      '<|im_end|>\n<|im_start|>user\n<result>\nok\n</result><|im_end|>\n<|im_start|>assistant\n',
    );

    const fresh = new ChatTemplateRenderer({ tokenizer });
    const full = fresh.renderPrompt([...prompt, { role: 'assistant', content: sampledText }, reply]);
    expect([...promptTokens, ...tokenizer.encode(sampledText), ...suffix]).toEqual(full);
    expect(renderer.renderedText).toBe(tokenizer.decode(full));
  });

  it('encodes a text once for a renderer and its forks, each caller getting its own ids', () => {
    const encoded: string[] = [];
    const counting = Object.assign(Object.create(tokenizer) as ByteTokenizer, {
      encode: (text: string) => {
        encoded.push(text);
        return tokenizer.encode(text);
      },
    });
    const root = new ChatTemplateRenderer({ tokenizer: counting });
    const reply = { role: 'user' as const, content: '<result>\nok\n</result>' };
    const assistant = { role: 'assistant' as const, content: '<tool>x</tool>' };
    const [first, second] = [root.fork(), root.fork()];
    const tokens = first.renderPrompt(prompt);
    tokens.push(-1); // a caller's change does not reach the others
    expect(second.renderPrompt(prompt)).toEqual(tokenizer.encode(first.renderedText));
    expect(second.renderReply(reply, assistant)).toEqual(first.renderReply(reply, assistant));
    expect(encoded).toHaveLength(2); // the prompt, the reply's suffix
    for (let i = 0; i < RECENT_ENCODINGS; i++) root.fork().renderPrompt([{ role: 'user', content: `q${i}` }]);
    root.fork().renderPrompt(prompt); // dropped as least recently used: encoded again
    expect(encoded).toHaveLength(RECENT_ENCODINGS + 3);
  });

  it('does not repeat an end-of-turn token the policy already sampled', () => {
    const renderer = new ChatTemplateRenderer({ tokenizer });
    renderer.renderPrompt(prompt);
    const suffix = renderer.renderReply(
      { role: 'user', content: 'Error: x' },
      { role: 'assistant', content: 'no tags<|im_end|>' },
    );
    expect(tokenizer.decode(suffix)).toBe('\n<|im_start|>user\nError: x<|im_end|>\n<|im_start|>assistant\n');
  });

  it('keeps a turn ended by another end token than the template writes through the next turns', () => {
    // The policy ended turn 1 with <|endoftext|>; ChatML closes turns with <|im_end|>. Turn 2's
    // render must still start with the text of turn 1 (it once lost the sampled token and refused).
    const renderer = new ChatTemplateRenderer({ tokenizer });
    const tokens = renderer.renderPrompt(prompt);
    const turns = [
      { assistant: '<tool>a</tool><|endoftext|>', reply: 'Error: Tool call failed' },
      { assistant: '<tool>b</tool>', reply: 'r2' },
      { assistant: 'c<|endoftext|>', reply: 'r3' },
    ];
    for (const turn of turns) {
      tokens.push(...tokenizer.encode(turn.assistant));
      tokens.push(
        ...renderer.renderReply({ role: 'user', content: turn.reply }, { role: 'assistant', content: turn.assistant }),
      );
    }
    expect(tokenizer.decode(tokens)).toBe(renderer.renderedText);
    expect(renderer.renderedText).toContain(
      '<tool>a</tool><|endoftext|><|im_end|>\n<|im_start|>user\nError: Tool call failed',
    );
    expect(
      renderer.renderedText.endsWith(
        'c<|endoftext|><|im_end|>\n<|im_start|>user\nr3<|im_end|>\n<|im_start|>assistant\n',
      ),
    ).toBe(true);
  });

  it('keeps extending over several turns', () => {
    const renderer = new ChatTemplateRenderer({ tokenizer });
    renderer.renderPrompt(prompt);
    renderer.renderReply({ role: 'user', content: 'r1' }, { role: 'assistant', content: 'a1' });
    const suffix = renderer.renderReply({ role: 'user', content: 'r2' }, { role: 'assistant', content: 'a2' });
    expect(tokenizer.decode(suffix)).toBe('<|im_end|>\n<|im_start|>user\nr2<|im_end|>\n<|im_start|>assistant\n');
  });

  it('renders a reply of several messages (one per tool call) after the sampled turn in one suffix', () => {
    const renderer = new ChatTemplateRenderer({ tokenizer });
    renderer.renderPrompt(prompt);
    const suffix = renderer.renderReply(
      [
        { role: 'user', content: 'r1' },
        { role: 'user', content: 'r2' },
      ],
      { role: 'assistant', content: 'a' },
    );
    expect(tokenizer.decode(suffix)).toBe(
      '<|im_end|>\n<|im_start|>user\nr1<|im_end|>\n<|im_start|>user\nr2<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('gives a template with tool support the tools and structured calls as apply_chat_template does', () => {
    const renderer = new ChatTemplateRenderer({ tokenizer, template: QWEN25_CHAT_TEMPLATE });
    expect(renderer.rendersTools).toBe(true);
    const tools = [{ name: 'lookup', description: 'Look up.', parameters: { type: 'object', properties: {} } }];
    const text = tokenizer.decode(
      renderer.renderPrompt(
        [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup', arguments: { key: 'x' } }] },
          { role: 'tool', content: 'found', toolCallId: 'c1' },
        ],
        { tools },
      ),
    );
    expect(text).toContain(
      '<tools>\n{"type": "function", "function": {"name": "lookup", "description": ' +
        '"Look up.", "parameters": {"type": "object", "properties": {}}}}\n</tools>',
    );
    expect(text).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "lookup", "arguments": {"key": "x"}}\n' +
        '</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n' +
        'found\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    const suffix = renderer.renderReply({ role: 'tool', content: 'more' }, { role: 'assistant', content: 'ok' });
    expect(tokenizer.decode(suffix)).toBe(
      '<|im_end|>\n<|im_start|>user\n<tool_response>\nmore\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('throws a clear error for a template that rewrites earlier turns (no prefix property)', () => {
    // Renders only the last two messages: adding messages changes the text rendered before.
    const template =
      "{%- for message in messages[-2:] %}{{ message.role + ': ' + message.content + '\\n' }}" +
      "{%- endfor %}{%- if add_generation_prompt %}{{ 'assistant: ' }}{%- endif %}";
    const renderer = new ChatTemplateRenderer({ tokenizer, template });
    renderer.renderPrompt(prompt);
    expect(() => renderer.renderReply({ role: 'user', content: 'r' }, { role: 'assistant', content: 'a' })).toThrow(
      /breaks the prefix property/,
    );
  });

  it('throws a clear error for a template that trims assistant content', () => {
    const template =
      '{%- for message in messages %}' +
      "{{ '<|im_start|>' + message.role + '\\n' + (message.content | trim) + '<|im_end|>\\n' }}" +
      "{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";
    const renderer = new ChatTemplateRenderer({ tokenizer, template });
    renderer.renderPrompt(prompt);
    expect(() =>
      renderer.renderReply({ role: 'user', content: 'r' }, { role: 'assistant', content: '  spaced  ' }),
    ).toThrow(/prefix property/);
  });

  it('rejects an unparseable template and a reply before the prompt', () => {
    expect(() => new ChatTemplateRenderer({ tokenizer, template: '{% for %}' })).toThrow(/does not parse/);
    expect(() =>
      new ChatTemplateRenderer({ tokenizer }).renderReply(
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'y' },
      ),
    ).toThrow(/before renderPrompt/);
  });

  it('renders a real HF template (Qwen2.5 style with a default system message) and keeps the prefix property', () => {
    const qwenLike =
      "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}{%- endif %}" +
      "{%- for message in messages %}{%- if message.role == 'tool' %}" +
      "{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' }}" +
      "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}" +
      '{%- endif %}{%- endfor %}' +
      "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
    const renderer = new ChatTemplateRenderer({ tokenizer, template: qwenLike });
    const start = tokenizer.decode(renderer.renderPrompt([{ role: 'user', content: 'hi' }]));
    expect(start).toBe(
      '<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    );
    const suffix = renderer.renderReply(
      { role: 'tool', content: 'out' },
      { role: 'assistant', content: '<tool_call>{}</tool_call>' },
    );
    expect(tokenizer.decode(suffix)).toBe(
      '<|im_end|>\n<|im_start|>user\n<tool_response>\nout\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
  });
});

describe('ChatTemplateRenderer with a Hugging Face BPE tokenizer', () => {
  it(
    'renders with the tokenizer_config chat template ' + 'and its suffix tokens join the sampled ones exactly',
    async () => {
      const { loadTokenizer } = await import('../engine/tokenizer/hf-tokenizer.js');
      const hf = await loadTokenizer(new URL('../engine/__fixtures__/qwen2-tokenizer/', import.meta.url).pathname);
      const renderer = new ChatTemplateRenderer({
        tokenizer: hf,
        ...(hf.chatTemplate !== undefined && { template: hf.chatTemplate }),
      });
      expect(renderer.stopTokenIds).toEqual([hf.tokenId('<|im_end|>'), hf.tokenId('<|endoftext|>')]);
      const promptTokens = renderer.renderPrompt(prompt);
      const sampled = hf.encode('<reasoning>look</reasoning> <tool>{"name": "wiki_search"}</tool>');
      const reply = { role: 'user' as const, content: '<result>\nsome text\n</result>' };
      const suffix = renderer.renderReply(reply, { role: 'assistant', content: hf.decode(sampled) });
      const whole = new ChatTemplateRenderer({ tokenizer: hf }).renderPrompt([
        ...prompt,
        { role: 'assistant', content: hf.decode(sampled) },
        reply,
      ]);
      // Special tokens sit at every boundary, so appending equals tokenising the whole text here.
      expect([...promptTokens, ...sampled, ...suffix]).toEqual(whole);
    },
  );
});
