#!/usr/bin/env python3
"""An independent GPT in numpy, written from the equations (not from our Swift code): forward, loss and
every parameter's gradient by a hand-written backward pass, in float64.

usage: numpy_gpt.py CHECKPOINT_DIR BATCH_JSON OUT.safetensors
  CHECKPOINT_DIR  config.json + model.safetensors written by the course (Checkpoint.save)
  BATCH_JSON      {"ids": [[...], ...], "targets": [...]}  (B, T) ids and B*T next-token targets
  OUT             logits (B, T, V), loss (), and grad.<name> for every parameter, as float32
Exit code 3 when numpy or safetensors is missing (the Swift test skips).

The model: token embedding (+ learned positions) -> L pre-norm blocks [x + attn(norm1(x)); x + mlp(norm2(x))]
-> final norm -> head (tied: the token embedding). LayerNorm or RMSNorm; attention from one packed
q|k|v projection (H query heads, G key/value heads, head h reads group h // (H/G)), RoPE on adjacent
pairs (2i, 2i+1) with angle t * base^(-2i/D) for rotary models, causal softmax(q k^T / sqrt(D)) v; GELU
(tanh approximation) MLP or SwiGLU down(silu(gate x) * up x); mean cross-entropy over the targets.
"""
import json
import sys

try:
    import numpy as np
    from safetensors.numpy import load_file, save_file
except ImportError:
    sys.exit(3)

folder, batch_path, out_path = sys.argv[1:4]
cfg = json.load(open(f"{folder}/config.json"))
P = {k: v.astype(np.float64) for k, v in load_file(f"{folder}/model.safetensors").items()}
batch = json.load(open(batch_path))
ids = np.array(batch["ids"])
targets = np.array(batch["targets"])
B, T = ids.shape
C, H, G, L = cfg["n_embd"], cfg["n_head"], cfg["n_kv_head"], cfg["n_layer"]
D = C // H
eps = cfg["norm_eps"]
layer_norm = cfg["norm"] == "layerNorm"
G_ = {k: np.zeros_like(v) for k, v in P.items()}          # gradients, accumulated


# ---- norms: y = xhat * w (+ b), xhat = (x - mean) * r or x * r
def norm_forward(x, name):
    if layer_norm:
        mu = x.mean(-1, keepdims=True)
        xc = x - mu
    else:
        xc = x
    r = 1 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    xhat = xc * r
    y = xhat * P[f"{name}.weight"]
    if f"{name}.bias" in P:
        y = y + P[f"{name}.bias"]
    return y, (xhat, r, name)


def norm_backward(dy, cache):
    xhat, r, name = cache
    G_[f"{name}.weight"] += (dy * xhat).reshape(-1, C).sum(0)
    if f"{name}.bias" in P:
        G_[f"{name}.bias"] += dy.reshape(-1, C).sum(0)
    g = dy * P[f"{name}.weight"]
    if layer_norm:
        return r * (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True))
    return r * (g - xhat * (g * xhat).mean(-1, keepdims=True))


# ---- linear: y = x W^T + b
def linear_forward(x, name):
    y = x @ P[f"{name}.weight"].T
    if f"{name}.bias" in P:
        y = y + P[f"{name}.bias"]
    return y, (x, name)


def linear_backward(dy, cache):
    x, name = cache
    G_[f"{name}.weight"] += dy.reshape(-1, dy.shape[-1]).T @ x.reshape(-1, x.shape[-1])
    if f"{name}.bias" in P:
        G_[f"{name}.bias"] += dy.reshape(-1, dy.shape[-1]).sum(0)
    return dy @ P[f"{name}.weight"]


# ---- RoPE on adjacent pairs: (a, b) -> (a cos - b sin, a sin + b cos)
def rope_tables():
    i = np.arange(D // 2)
    angle = np.arange(T)[:, None] * cfg["rope_base"] ** (-2 * i / D)[None, :]
    return np.cos(angle), np.sin(angle)                      # (T, D/2)


def rope(x, cos, sin, sign):                                 # x (B, heads, T, D)
    a, b = x[..., 0::2], x[..., 1::2]
    s = sign * sin
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * s
    out[..., 1::2] = a * s + b * cos
    return out


def attention_forward(x, name):
    qkv, lin = linear_forward(x, f"{name}.qkv")              # (B, T, (H + 2G) D)
    q = qkv[..., :H * D].reshape(B, T, H, D).transpose(0, 2, 1, 3)
    k = qkv[..., H * D:(H + G) * D].reshape(B, T, G, D).transpose(0, 2, 1, 3)
    v = qkv[..., (H + G) * D:].reshape(B, T, G, D).transpose(0, 2, 1, 3)
    rotary = cfg["positions"] == "rotary"
    if rotary:
        cos, sin = rope_tables()
        q, k = rope(q, cos, sin, 1), rope(k, cos, sin, 1)
    group = np.arange(H) // (H // G)
    kh, vh = k[:, group], v[:, group]                        # (B, H, T, D)
    s = q @ kh.transpose(0, 1, 3, 2) / np.sqrt(D)
    s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = (p @ vh).transpose(0, 2, 1, 3).reshape(B, T, H * D)
    y, proj = linear_forward(o, f"{name}.proj")
    return y, (lin, proj, q, kh, vh, p, group, rotary)


def attention_backward(dy, cache):
    lin, proj, q, kh, vh, p, group, rotary = cache
    do = linear_backward(dy, proj).reshape(B, T, H, D).transpose(0, 2, 1, 3)
    dp = do @ vh.transpose(0, 1, 3, 2)
    dvh = p.transpose(0, 1, 3, 2) @ do
    ds = p * (dp - (dp * p).sum(-1, keepdims=True)) / np.sqrt(D)
    dq = ds @ kh
    dkh = ds.transpose(0, 1, 3, 2) @ q
    dk = np.zeros((B, G, T, D))
    dv = np.zeros((B, G, T, D))
    for h in range(H):
        dk[:, group[h]] += dkh[:, h]
        dv[:, group[h]] += dvh[:, h]
    if rotary:
        cos, sin = rope_tables()
        dq, dk = rope(dq, cos, sin, -1), rope(dk, cos, sin, -1)
    dqkv = np.concatenate([dq.transpose(0, 2, 1, 3).reshape(B, T, H * D), dk.transpose(0, 2, 1, 3).reshape(B, T, G * D),
                           dv.transpose(0, 2, 1, 3).reshape(B, T, G * D)], axis=-1)
    return linear_backward(dqkv, lin)


GELU_K = np.sqrt(2 / np.pi)


def mlp_forward(x, name):
    if cfg["mlp"] == "gelu":
        h, fc = linear_forward(x, f"{name}.fc")
        t = np.tanh(GELU_K * (h + 0.044715 * h ** 3))
        a = 0.5 * h * (1 + t)
        y, pr = linear_forward(a, f"{name}.proj")
        return y, ("gelu", fc, pr, h, t)
    g, gate = linear_forward(x, f"{name}.gate")
    u, up = linear_forward(x, f"{name}.up")
    sig = 1 / (1 + np.exp(-g))
    a = g * sig * u
    y, down = linear_forward(a, f"{name}.down")
    return y, ("swiglu", gate, up, down, g, u, sig)


def mlp_backward(dy, cache):
    if cache[0] == "gelu":
        _, fc, pr, h, t = cache
        da = linear_backward(dy, pr)
        dh = da * (0.5 * (1 + t) + 0.5 * h * (1 - t ** 2) * GELU_K * (1 + 3 * 0.044715 * h ** 2))
        return linear_backward(dh, fc)
    _, gate, up, down, g, u, sig = cache
    da = linear_backward(dy, down)
    silu = g * sig
    dg = da * u * (sig * (1 + g * (1 - sig)))
    du = da * silu
    return linear_backward(dg, gate) + linear_backward(du, up)


# ---- forward
x = P["tok_embeddings.weight"][ids]                          # (B, T, C)
if cfg["positions"] == "learned":
    x = x + P["pos_embeddings.weight"][:T]
caches = []
for l in range(L):
    n1, c1 = norm_forward(x, f"blocks.{l}.norm1")
    a, ca = attention_forward(n1, f"blocks.{l}.attn")
    x = x + a
    n2, c2 = norm_forward(x, f"blocks.{l}.norm2")
    m, cm = mlp_forward(n2, f"blocks.{l}.mlp")
    x = x + m
    caches.append((c1, ca, c2, cm))
hidden, cf = norm_forward(x, "norm_f")
head = P["tok_embeddings.weight"] if cfg["tied_embeddings"] else P["lm_head.weight"]
logits = hidden @ head.T                                     # (B, T, V)
flat = logits.reshape(B * T, -1)
z = flat - flat.max(-1, keepdims=True)
logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
loss = -logp[np.arange(B * T), targets].mean()

# ---- backward
dflat = np.exp(logp)
dflat[np.arange(B * T), targets] -= 1
dlogits = (dflat / (B * T)).reshape(B, T, -1)
head_name = "tok_embeddings.weight" if cfg["tied_embeddings"] else "lm_head.weight"
G_[head_name] += dlogits.reshape(B * T, -1).T @ hidden.reshape(B * T, C)
dx = norm_backward(dlogits @ head, cf)
for l in reversed(range(L)):
    c1, ca, c2, cm = caches[l]
    dx = dx + norm_backward(mlp_backward(dx, cm), c2)
    dx = dx + norm_backward(attention_backward(dx, ca), c1)
np.add.at(G_["tok_embeddings.weight"], ids.reshape(-1), dx.reshape(-1, C))
if cfg["positions"] == "learned":
    G_["pos_embeddings.weight"][:T] += dx.sum(0)

out = {"logits": logits.astype(np.float32), "loss": np.array(loss, dtype=np.float32)}
out.update({f"grad.{k}": v.astype(np.float32) for k, v in G_.items()})
save_file(out, out_path)
