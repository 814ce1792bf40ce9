"""Swin Transformer (Liu et al. 2021), written for this project: patch embedding, blocks of
window attention with a relative position bias, every other block's windows shifted by half a
window (with the mask that keeps wrapped-around regions apart), and patch merging between stages.

Feature maps are channels-last, (B, H, W, C). Token grids that the window does not tile are
padded (as the official detection code does); a grid smaller than the window gets one window
and no shift.
"""

from __future__ import annotations

import torch
from torch import nn

from core.nets.attention import DropPath, Mlp
from core.nets.config import SwinConfig


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) with H, W multiples of ``window`` -> (B * nW, window * window, C)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // window, window, w // window, window, c).transpose(2, 3)
    return x.reshape(-1, window * window, c)


def window_reverse(windows: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * nW, window * window, C) -> (B, H, W, C)."""
    c = windows.shape[-1]
    x = windows.reshape(-1, h // window, w // window, window, window, c).transpose(2, 3)
    return x.reshape(-1, h, w, c)


def relative_position_index(window: int, table_window: int | None = None) -> torch.Tensor:
    """(window^2, window^2) index into the (2 T - 1)^2 table of relative offsets of a
    ``table_window`` T (default: ``window``; a smaller window uses a subset of the table)."""
    table = table_window or window
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (table - 1)
    return rel[..., 0] * (2 * table - 1) + rel[..., 1]


def shifted_window_mask(h: int, w: int, window: int, shift: int) -> torch.Tensor:
    """(nW, window^2, window^2) additive mask: -inf-like between tokens that only share a window
    because of the cyclic shift (they come from opposite edges of the map), 0 elsewhere."""
    regions = torch.zeros(h, w)
    label = 0
    for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            regions[hs, ws] = label
            label += 1
    ids = window_partition(regions[None, :, :, None], window)[..., 0]  # (nW, window^2)
    different = ids[:, :, None] != ids[:, None, :]
    return different.float() * -100.0


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a learnt relative position bias."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        self.register_buffer("bias_index", relative_position_index(window), persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B * nW, N, C) tokens of square windows (N = w^2, w <= the configured window);
        mask: (nW, N, N) additive, or None."""
        bw, n, c = x.shape
        q, k, v = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B*nW, heads, N, N)
        index = self.bias_index
        if n != self.window**2:  # a feature map smaller than the window
            index = relative_position_index(int(round(n**0.5)), self.window).to(x.device)
        bias = self.bias_table[index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
        attn = attn + bias[None]
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.reshape(bw // nw, nw, self.heads, n, n) + mask[None, :, None].to(attn)
            attn = attn.reshape(bw, self.heads, n, n)
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    """LN -> (shifted) window attention -> residual, LN -> MLP -> residual."""

    def __init__(self, dim: int, heads: int, window: int, shift: int, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        window = min(self.window, h, w)
        shift = self.shift if min(h, w) > self.window else 0
        y = self.norm1(x)
        pad_h, pad_w = (-h) % window, (-w) % window
        if pad_h or pad_w:
            y = nn.functional.pad(y, (0, 0, 0, pad_w, 0, pad_h))
        hp, wp = h + pad_h, w + pad_w
        mask = None
        if shift:
            y = torch.roll(y, (-shift, -shift), dims=(1, 2))
            mask = shifted_window_mask(hp, wp, window, shift).to(y.device)
        y = window_reverse(self.attn(window_partition(y, window), mask), window, hp, wp)
        if shift:
            y = torch.roll(y, (shift, shift), dims=(1, 2))
        y = y[:, :h, :w]
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Halve the grid, double the channels: concatenate each 2x2 neighbourhood, LN, linear."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, w, _ = x.shape
        if h % 2 or w % 2:
            x = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class SwinTransformer(nn.Module):
    """Images (B, 3, S, S) in [0, 1] -> (B, out_dim) pooled features of the last stage."""

    # ImageNet statistics: the usual input normalisation of Swin.
    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, config: SwinConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=config.patch_size, stride=config.patch_size)
        self.embed_norm = nn.LayerNorm(dim)
        rates = torch.linspace(0, config.drop_path, sum(config.depths)).tolist()
        self.stages = nn.ModuleList()
        self.merges = nn.ModuleList()
        done = 0
        for i, (depth, heads) in enumerate(zip(config.depths, config.heads)):
            width = dim * 2**i
            blocks = [
                SwinBlock(width, heads, config.window_size, 0 if j % 2 == 0 else config.window_size // 2,
                          config.mlp_ratio, rates[done + j])
                for j in range(depth)
            ]
            done += depth
            self.stages.append(nn.Sequential(*blocks))
            self.merges.append(PatchMerging(width) if i < len(config.depths) - 1 else nn.Identity())
        self.out_dim = dim * 2 ** (len(config.depths) - 1)
        self.norm = nn.LayerNorm(self.out_dim)
        self.register_buffer("mean", torch.tensor(self.MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.STD).reshape(1, 3, 1, 1), persistent=False)
        self.apply(_init_weights)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, h, w, out_dim) last-stage feature map."""
        x = self.patch_embed((images - self.mean) / self.std).permute(0, 2, 3, 1)
        x = self.embed_norm(x)
        for stage, merge in zip(self.stages, self.merges):
            x = merge(stage(x))
        return self.norm(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_features(images).mean(dim=(1, 2))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
