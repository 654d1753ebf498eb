"""Loads a model directory with transformers and prints, as JSON, its float32
logits for the given ids and its greedy continuation: the other half of the
proof that llm-tricks' savePretrained writes what transformers loads as the
same model (test/hub/transformers.test.ts runs it).

    python3 scripts/hf/logits.py '[1, 2, 3]' NEW_TOKENS DIR [DIR ...]

prints one JSON line per directory, in order.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM

ids, new_tokens = json.loads(sys.argv[1]), int(sys.argv[2])
for path in sys.argv[3:]:
    # strict loading: a tensor transformers does not expect, or one it lacks, is an error, not a warning
    model, info = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"{path}: transformers reported loading problems: {problems}")
    model.eval()
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = model(x).logits[0]
        greedy = model.generate(x, max_new_tokens=new_tokens, do_sample=False, eos_token_id=None, pad_token_id=0)[0, len(ids):]
    print(json.dumps({"path": path, "architecture": type(model).__name__, "logits": logits.tolist(), "greedy": greedy.tolist()}))
