"""Python side of scripts/check-export-hf.ts: loads what `turnwise export` wrote with transformers
and PEFT and prints, as a table, the largest gaps against turnwise's own numbers. Exits non-zero when
a gap is over 1e-5 or the adapter did not move the model."""
import json
import sys

import peft
import torch
import transformers
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

root = sys.argv[1]
probe = json.load(open(f"{root}/probe.json"))


def load(name):
    return AutoModelForCausalLM.from_pretrained(f"{root}/{name}", dtype=torch.float32).eval()


def target_logprobs(model):
    rows = []
    for datum in probe["probe"]:
        with torch.no_grad():
            logits = model(torch.tensor([datum["inputTokens"]])).logits[0].double()
        logprobs = torch.log_softmax(logits, -1)
        rows.append([logprobs[t, y].item() for t, y in enumerate(datum["targetTokens"])])
    return rows


def gap(a, b):
    return max(abs(x - y) for row_a, row_b in zip(a, b) for x, y in zip(row_a, row_b))


merged = target_logprobs(load("merged"))
base_model = load("base")
base = target_logprobs(base_model)
with_adapter = PeftModel.from_pretrained(base_model, f"{root}/adapter").eval()
adapter = target_logprobs(with_adapter)
ours = load_file(f"{root}/merged/model.safetensors")
theirs = with_adapter.merge_and_unload().state_dict()
weight_gap = max((theirs[name].float() - tensor).abs().max().item() for name, tensor in ours.items())
local = target_logprobs(load("local-hf"))
AutoTokenizer.from_pretrained(f"{root}/local-hf")

rows = [
    ("merged export (transformers) vs the LoRA model served by turnwise serve", gap(merged, probe["servedLogprobs"])),
    ("PEFT base + archived adapter vs merged export", gap(adapter, merged)),
    ("PEFT merge_and_unload weights vs turnwise's merge", weight_gap),
    ("local export (transformers) vs the engine", gap(local, probe["localLogprobs"])),
]
print(f"transformers {transformers.__version__}, peft {peft.__version__}, torch {torch.__version__}")
print(f"{'largest gap (target logprobs, or weights)':<76}  value")
for label, value in rows:
    print(f"{label:<76}  {value:.3g}")
moved = gap(base, probe["servedLogprobs"])
print(f"{'base vs the served LoRA model (the adapter moved it)':<76}  {moved:.3g}")
sys.exit(0 if all(value < 1e-5 for _, value in rows) and moved > 1e-3 else 1)
