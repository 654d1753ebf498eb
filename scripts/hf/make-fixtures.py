"""Writes the Hugging Face fixtures under test/fixtures/hf/: one tiny random
LlamaForCausalLM (or a model sharing its tensors) per config variant, saved
with transformers' own save_pretrained, plus the logits transformers computes
for fixed ids and its greedy continuation. The tests demand that llm-tricks
loads each directory and computes the same numbers.

Run it from the repository root when a variant is added (the fixtures are
committed; the tests never run it):

    python3 scripts/hf/make-fixtures.py [VARIANT ...]   # default: every variant

Needs torch, transformers and tokenizers (requirements-dev.txt).
"""
import json
import shutil
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, PreTrainedTokenizerFast

OUT = Path("test/fixtures/hf")
IDS = [5, 17, 42, 3, 88, 61, 9, 27, 70, 14, 33, 50]
NEW_TOKENS = 6
TEXT = "The quick brown fox jumps over the lazy dog. Tokenizers split text into pieces, and models read the pieces."

BASE = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, initializer_range=0.2,
            rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)

# name -> (config class, overrides, how to save, old-style config.json)
VARIANTS = {
    "llama-gqa": (LlamaConfig, {}, {}, False),
    "llama-tied-mha": (LlamaConfig, dict(num_key_value_heads=4, tie_word_embeddings=True), {}, False),
    "llama-head-dim": (LlamaConfig, dict(head_dim=16, num_key_value_heads=1), {}, False),
    "rope-linear": (LlamaConfig, dict(rope_scaling={"rope_type": "linear", "factor": 2.0}), {}, False),
    "rope-dynamic": (LlamaConfig, dict(max_position_embeddings=8, rope_scaling={"rope_type": "dynamic", "factor": 2.0}), {}, False),
    "rope-yarn": (LlamaConfig, dict(max_position_embeddings=32, rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4}), {}, False),
    "rope-llama3": (LlamaConfig, dict(max_position_embeddings=32, rope_theta=500000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 4, "low_freq_factor": 1.0, "high_freq_factor": 4.0}), {}, True),
    "llama-bf16": (LlamaConfig, {}, dict(dtype=torch.bfloat16), False),
    "llama-f16": (LlamaConfig, {}, dict(dtype=torch.float16), False),
    "llama-sharded": (LlamaConfig, {}, dict(max_shard_size="20KB"), False),
    "qwen2-bias": (Qwen2Config, dict(use_sliding_window=False), {}, False),
    "mistral": (MistralConfig, dict(sliding_window=None), {}, False),
}


def tokenizer_files(path: Path) -> None:
    """A small byte-level BPE trained on TEXT (ids within the model's vocabulary), saved as tokenizer.json + tokenizer_config.json."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([TEXT], trainers.BpeTrainer(vocab_size=BASE["vocab_size"] - 8, special_tokens=["<unk>", "<s>", "</s>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    fast.save_pretrained(path)


def make(name: str, cls, overrides: dict, save: dict, old_style: bool) -> None:
    torch.manual_seed(sum(map(ord, name)))
    path = OUT / name
    shutil.rmtree(path, ignore_errors=True)
    config = cls(**{**BASE, **overrides})
    model = AutoModelForCausalLM.from_config(config).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))  # norms not all ones, so a lost norm weight shows
            elif n.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
    dtype = save.get("dtype")
    if dtype is not None:
        model = model.to(dtype)
    model.generation_config.eos_token_id = None  # greedy runs for exactly NEW_TOKENS
    model.save_pretrained(path, max_shard_size=save.get("max_shard_size", "50GB"))
    if old_style:
        # The config.json most hub files have: rope_theta and rope_scaling at the top level.
        cfg = json.loads((path / "config.json").read_text())
        rope = cfg.pop("rope_parameters")
        cfg["rope_theta"] = rope.pop("rope_theta")
        cfg["rope_scaling"] = rope
        (path / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    # Logits as transformers computes them from the saved files, loaded in float32.
    loaded = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ids = torch.tensor([IDS])
    with torch.no_grad():
        logits = loaded(ids).logits[0]
        greedy = loaded.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0)[0, len(IDS):]
    expected = {"transformers": transformers.__version__, "torch": torch.__version__, "ids": IDS,
                "logits": [[float(x) for x in row] for row in logits.tolist()], "greedy": greedy.tolist()}
    if name == "llama-gqa":
        tokenizer_files(path)
        fast = PreTrainedTokenizerFast.from_pretrained(path)
        expected["text"] = TEXT
        expected["encoded"] = fast(TEXT, add_special_tokens=False)["input_ids"]
    (path / "expected.json").write_text(json.dumps(expected) + "\n")
    print(name, sorted(p.name for p in path.iterdir()))


if __name__ == "__main__":
    import sys
    for name in sys.argv[1:] or VARIANTS:
        make(name, *VARIANTS[name])
