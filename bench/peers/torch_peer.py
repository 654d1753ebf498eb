"""PyTorch peer for the llm-tricks bench suite (on the CPU, or CUDA for the training step).

Usage: python3 torch_peer.py <case> <json settings> <warmup> <runs>
Prints one JSON object as its last line:
  {"peer": "pytorch <version> <mode>", "ms": [per-run milliseconds], "extra": {...}}

or:    python3 torch_peer.py <case> <json settings> serve
Sets the case up, prints {"peer": ..., "extra": {...}} on one line, then
runs one step for each line read from stdin and answers each with the line
"ok <milliseconds>", the step as timed here (the pipe's round trip left
out); it ends at the end of its input. The bench uses this to time the peer
in alternation with llm-tricks, so both meet the same machine.

Cases
  train    one training step of the training example's decoder: the same
           shapes as llm-tricks' DecoderLM (byte vocabulary, RMSNorm eps 1e-6,
           rotary positions in the 'half' layout, multi-query attention via
           scaled_dot_product_attention with enable_gqa, SwiGLU, untied head,
           dropout on the embeddings, the attention probabilities and both
           residual branches), loss, backward, gradient clipping to norm 1 and
           a Lion update written with torch._foreach ops (PyTorch ships no
           Lion). settings: vocab, dim, layers, heads, kvHeads, hidden, B, T,
           dropout, compile (false = eager, true = torch.compile of the
           model's forward and loss), device ("cpu", the default, or
           "cuda": the model, its data and the optimizer on the GPU; each
           step ends when the GPU has finished it).
  lion, adamw
           one optimizer step over settings.size float32 parameters in one
           tensor: Lion by hand (foreach ops, its buffer kept between
           steps), AdamW from torch.optim (foreach, or with settings.fused
           PyTorch's fused kernel: the peer's mode then reads "fused").
  clip     clip_grad_norm_ (foreach) of settings.size float32 gradients in
           one tensor, to 0.9 times the norm the previous call left, so
           every call scales.

settings.threads sets torch.set_num_threads (the bench passes ONNX Runtime's
thread count), so both sides use the same cores.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["dim"], c["dim"] // c["heads"]
        self.heads, self.kv, self.hd, self.p = c["heads"], c["kvHeads"], hd, c["dropout"]
        self.n1 = torch.nn.RMSNorm(d, eps=1e-6)
        self.n2 = torch.nn.RMSNorm(d, eps=1e-6)
        self.q = torch.nn.Linear(d, self.heads * hd, bias=False)
        self.k = torch.nn.Linear(d, self.kv * hd, bias=False)
        self.v = torch.nn.Linear(d, self.kv * hd, bias=False)
        self.o = torch.nn.Linear(self.heads * hd, d, bias=False)
        self.gate = torch.nn.Linear(d, c["hidden"], bias=False)
        self.up = torch.nn.Linear(d, c["hidden"], bias=False)
        self.down = torch.nn.Linear(c["hidden"], d, bias=False)

    def forward(self, h, cos, sin):
        B, T, _ = h.shape
        x = self.n1(h)
        q = rope(self.q(x).view(B, T, self.heads, self.hd).transpose(1, 2), cos, sin)
        k = rope(self.k(x).view(B, T, self.kv, self.hd).transpose(1, 2), cos, sin)
        v = self.v(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        p = self.p if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True, enable_gqa=self.kv != self.heads)
        h = h + F.dropout(self.o(a.transpose(1, 2).reshape(B, T, -1)), p, self.training)
        y = self.n2(h)
        return h + F.dropout(self.down(F.silu(self.gate(y)) * self.up(y)), p, self.training)


def rope(x, cos, sin):
    """Rotary positions in the 'half' layout: the first half of each head pairs with the second."""
    a, b = x.chunk(2, dim=-1)
    return torch.cat((a * cos - b * sin, b * cos + a * sin), dim=-1)


class Decoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        hd = c["dim"] // c["heads"]
        self.p = c["dropout"]
        self.embed = torch.nn.Embedding(c["vocab"], c["dim"])
        self.layers = torch.nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = torch.nn.RMSNorm(c["dim"], eps=1e-6)
        self.head = torch.nn.Linear(c["dim"], c["vocab"], bias=False)
        inv = 10000.0 ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        angles = torch.arange(c["T"], dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", angles.cos().float())
        self.register_buffer("sin", angles.sin().float())

    def forward(self, ids, targets):
        h = F.dropout(self.embed(ids), self.p, self.training)
        for layer in self.layers:
            h = layer(h, self.cos, self.sin)
        logits = self.head(self.norm(h))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


class Lion:
    """Lion (Chen et al. 2023), the same update as llm-tricks' Lion, with foreach ops."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.99, wd=0.0):
        self.params = [p for p in params]
        self.m = [torch.zeros_like(p) for p in self.params]
        # c = b1·m + (1 − b1)·g goes into buffers kept between steps. Allocated every step (as lion-pytorch and
        # foreach ops returning new tensors do), fresh 40 MB blocks cost page faults: the step took 2.7–3× as long
        # at 10M parameters and 4–8× at 1M (AMD EPYC, torch 2.15).
        self.c = [torch.empty_like(p) for p in self.params]
        self.lr, self.b1, self.b2, self.wd = lr, b1, b2, wd

    @torch.no_grad()
    def step(self):
        grads = [p.grad for p in self.params]
        if self.wd:
            torch._foreach_mul_(self.params, 1 - self.lr * self.wd)
        for c, m in zip(self.c, self.m):
            torch.mul(m, self.b1, out=c)
        torch._foreach_add_(self.c, grads, alpha=1 - self.b1)
        torch._foreach_sign_(self.c)
        torch._foreach_add_(self.params, self.c, alpha=-self.lr)
        torch._foreach_mul_(self.m, self.b2)
        torch._foreach_add_(self.m, grads, alpha=1 - self.b2)


def train_case(c):
    device = torch.device(c.get("device", "cpu"))
    torch.manual_seed(1)
    model = Decoder(c)
    for p in model.parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, std=0.02)
    model.to(device).train()
    forward = torch.compile(model) if c["compile"] else model
    opt = Lion(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    B, T, V = c["B"], c["T"], c["vocab"]

    def step(_):
        ids = torch.randint(0, V, (B, T), generator=gen).to(device)
        targets = torch.randint(0, V, (B, T), generator=gen).to(device)
        loss = forward(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
        opt.step()
        model.zero_grad(set_to_none=True)
        # item() waits for the step's kernels on a GPU: a timed step ends when the GPU is done.
        return loss.item()

    params = sum(p.numel() for p in model.parameters())
    extra = {"params": params}
    if device.type == "cuda":
        extra["gpu"] = torch.cuda.get_device_name(device)
        extra["cuda"] = torch.version.cuda
    return step, extra


def optim_case(case, c):
    n = c["size"]
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(n, generator=gen))
    p.grad = torch.randn(n, generator=gen)
    if case == "clip":
        bound = [p.grad.norm().item()]

        def clip(_):
            bound[0] *= 0.9
            torch.nn.utils.clip_grad_norm_([p], bound[0], foreach=True)
        return clip, {}
    if case == "lion":
        opt = Lion([p], lr=1e-4, wd=0.1)
    else:
        # foreach (the default where it applies) or fused, PyTorch's single kernel per step, on the CPU since 2.4.
        fused = bool(c.get("fused"))
        opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, **({"fused": True} if fused else {"foreach": True}))
    return (lambda _: opt.step()), {}


def serve(step, peer, extra):
    print(json.dumps({"peer": peer, "extra": extra}), flush=True)
    for i, _ in enumerate(sys.stdin):
        start = time.perf_counter()
        step(i)
        print(f"ok {(time.perf_counter() - start) * 1000}", flush=True)


def main():
    case, c = sys.argv[1], json.loads(sys.argv[2])
    torch.set_num_threads(int(c.get("threads", torch.get_num_threads())))
    started = time.perf_counter()
    step, extra = train_case(c) if case == "train" else optim_case(case, c)
    mode = "torch.compile" if c.get("compile") else "fused" if c.get("fused") else "eager"
    peer = f"pytorch {torch.__version__.split('+')[0]} {c.get('device', 'cpu')} {mode}"
    extra["threads"] = torch.get_num_threads()
    if sys.argv[3] == "serve":
        return serve(step, peer, extra)
    warmup, runs = int(sys.argv[3]), int(sys.argv[4])
    ms = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        step(i)
        if i == 0:
            # The first call of a compiled model includes compilation.
            extra["firstCallMs"] = round((time.perf_counter() - start) * 1000)
        if i >= warmup:
            ms.append((time.perf_counter() - start) * 1000)
    extra["setupMs"] = round((time.perf_counter() - started) * 1000 - sum(ms))
    print(json.dumps({"peer": peer, "ms": ms, "extra": extra}))


if __name__ == "__main__":
    main()
