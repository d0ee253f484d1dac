#!/usr/bin/python3
"""PyTorch side of `npm run bench:engine`: the identical Llama-style model and workload as the
engine's benchmark (scripts/bench-engine.ts), timed in the same run.

Model: token embedding, RMSNorm, RoPE (rotate_half), multi-head attention (optional grouped KV
heads), SwiGLU MLP, untied LM head; float32. Training step: forward over a batch of B x T random
tokens, loss = -sum(A * logprob(target)) / (B*T) with random per-token A (REINFORCE-style),
backward, AdamW (weight decay on matrices only, global-norm clipping to 1). Sampling: 64 sequences
x 256 new tokens from a 1-token prompt with a KV cache and multinomial draws. The caller runs this
script once per thread count and keeps the best.

Run by Debian's interpreter (/usr/bin/python3, the one that imports python3-torch). Threads are set
explicitly (torch.set_num_threads; OPENBLAS_NUM_THREADS comes from the caller's environment).
Prints one JSON line: wall and CPU (process_time) seconds of a training step, sampled tokens per
wall and per CPU second, the GFLOP/s of a 256^3 matmul (a reference BLAS shows as a few GFLOP/s:
Debian's python3-torch without recommends gets netlib BLAS; install libopenblas0-pthread), peak RSS.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class Model(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.C = config['hidden_size']
        self.L = config['num_hidden_layers']
        self.H = config['num_attention_heads']
        self.KVH = config.get('num_key_value_heads', self.H)
        self.D = self.C // self.H
        self.F = config['intermediate_size']
        self.V = config['vocab_size']
        self.eps = config.get('rms_norm_eps', 1e-6)
        self.theta = config.get('rope_theta', 10000.0)
        C, H, KVH, D, Fh, V = self.C, self.H, self.KVH, self.D, self.F, self.V
        g = torch.Generator().manual_seed(1)

        def param(*shape, std=0.02, value=None):
            tensor = torch.full(shape, value) if value is not None else torch.randn(*shape, generator=g) * std
            return torch.nn.Parameter(tensor)

        self.embed = param(V, C)
        self.layers = torch.nn.ModuleList()
        for _ in range(self.L):
            layer = torch.nn.Module()
            layer.norm1 = param(C, value=1.0)
            layer.q = param(H * D, C)
            layer.k = param(KVH * D, C)
            layer.v = param(KVH * D, C)
            layer.o = param(C, H * D, std=0.02 / math.sqrt(2 * self.L))
            layer.norm2 = param(C, value=1.0)
            layer.gate = param(Fh, C)
            layer.up = param(Fh, C)
            layer.down = param(C, Fh, std=0.02 / math.sqrt(2 * self.L))
            self.layers.append(layer)
        self.norm = param(C, value=1.0)
        self.head = param(V, C)

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def rope_tables(self, positions):
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, self.D, 2, dtype=torch.float32) / self.D))
        angles = torch.outer(positions.float(), inv_freq)  # (T, D/2)
        emb = torch.cat([angles, angles], dim=-1)  # (T, D)
        return emb.cos(), emb.sin()

    @staticmethod
    def rope(x, cos, sin):
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    def mlp(self, layer, x):
        h = self.rms(x, layer.norm2)
        return F.linear(F.silu(F.linear(h, layer.gate)) * F.linear(h, layer.up), layer.down)

    def forward(self, ids):  # ids (B,T) -> logits (B,T,V)
        B, T = ids.shape
        H, KVH, D = self.H, self.KVH, self.D
        cos, sin = self.rope_tables(torch.arange(T))
        mask = torch.full((T, T), float('-inf')).triu(1)
        x = self.embed[ids]
        for layer in self.layers:
            h = self.rms(x, layer.norm1)
            q = self.rope(F.linear(h, layer.q).view(B, T, H, D).transpose(1, 2), cos, sin)
            k = self.rope(F.linear(h, layer.k).view(B, T, KVH, D).transpose(1, 2), cos, sin)
            v = F.linear(h, layer.v).view(B, T, KVH, D).transpose(1, 2)
            if KVH != H:
                k = k.repeat_interleave(H // KVH, dim=1)
                v = v.repeat_interleave(H // KVH, dim=1)
            scores = q @ k.transpose(-1, -2) / math.sqrt(D) + mask
            attention = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + F.linear(attention, layer.o)
            x = x + self.mlp(layer, x)
        return F.linear(self.rms(x, self.norm), self.head)

    @torch.no_grad()
    def sample(self, first_tokens, new_tokens, generator):  # first_tokens (B,) -> (B, new_tokens)
        B = first_tokens.shape[0]
        H, KVH, D = self.H, self.KVH, self.D
        maxT = new_tokens + 1
        cos_all, sin_all = self.rope_tables(torch.arange(maxT))
        kcache = torch.zeros(self.L, B, KVH, maxT, D)
        vcache = torch.zeros(self.L, B, KVH, maxT, D)
        token = first_tokens
        out = []
        for p in range(new_tokens):
            cos, sin = cos_all[p], sin_all[p]
            x = self.embed[token].view(B, 1, self.C)
            for l, layer in enumerate(self.layers):
                h = self.rms(x, layer.norm1)
                q = self.rope(F.linear(h, layer.q).view(B, 1, H, D).transpose(1, 2), cos, sin)
                kcache[l, :, :, p] = self.rope(F.linear(h, layer.k).view(B, KVH, D), cos, sin)
                vcache[l, :, :, p] = F.linear(h, layer.v).view(B, KVH, D)
                k = kcache[l, :, :, : p + 1]
                v = vcache[l, :, :, : p + 1]
                if KVH != H:
                    k = k.repeat_interleave(H // KVH, dim=1)
                    v = v.repeat_interleave(H // KVH, dim=1)
                scores = q @ k.transpose(-1, -2) / math.sqrt(D)  # (B,H,1,p+1)
                attention = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, 1, H * D)
                x = x + F.linear(attention, layer.o)
                x = x + self.mlp(layer, x)
            logits = F.linear(self.rms(x, self.norm), self.head).view(B, self.V)
            probs = logits.softmax(-1)
            token = torch.multinomial(probs, 1, generator=generator).view(B)
            out.append(token)
        return torch.stack(out, dim=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--config', required=True, help='model config JSON (Hugging Face field names)')
    parser.add_argument('--name', default='?')
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--seq', type=int, default=256)
    parser.add_argument('--sample-sequences', type=int, default=64)
    parser.add_argument('--sample-tokens', type=int, default=256)
    parser.add_argument('--no-sample', dest='sample', action='store_false', help='time training only')
    args = parser.parse_args()
    config = json.loads(args.config)
    print(f'torch {torch.__version__}, threads {args.threads}, OPENBLAS_CORETYPE={os.environ.get("OPENBLAS_CORETYPE", "(unset)")}, '
          f'OPENBLAS_NUM_THREADS={os.environ.get("OPENBLAS_NUM_THREADS", "(unset)")}', file=sys.stderr)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    square = torch.randn(256, 256)
    square @ square
    start = time.perf_counter()
    for _ in range(20):
        square @ square
    blas_gflops = 20 * 2 * 256 ** 3 / (time.perf_counter() - start) / 1e9
    model = Model(config)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                                  lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(2)
    B, T, V = args.batch, args.seq, model.V
    ids = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    advantages = torch.randn(B, T, generator=g)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logprobs = model(ids).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        loss = -(advantages * logprobs).sum() / (B * T)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    step()  # warm-up
    times = []
    cpu_times = []
    for _ in range(args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    train_step = statistics.median(times)
    train_cpu = statistics.median(cpu_times)

    sample_rate, sample_cpu_rate = 0.0, 0.0
    if args.sample:
        first = torch.arange(args.sample_sequences) % V
        model.sample(first[:4], 8, torch.Generator().manual_seed(0))  # warm-up
        start, cpu_start = time.perf_counter(), time.process_time()
        tokens = model.sample(first, args.sample_tokens, torch.Generator().manual_seed(3))
        sample_rate = tokens.numel() / (time.perf_counter() - start)
        sample_cpu_rate = tokens.numel() / (time.process_time() - cpu_start)
    print(json.dumps({
        'config': args.name,
        'threads': args.threads,
        'trainStepSeconds': train_step,
        'trainCpuSeconds': train_cpu,
        'trainTokensPerSecond': B * T / train_step,
        'sampleTokensPerSecond': sample_rate,
        'sampleTokensPerCpuSecond': sample_cpu_rate,
        'sampleThreads': args.threads,
        'blasGflops': blas_gflops,
        'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
