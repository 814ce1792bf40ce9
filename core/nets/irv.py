"""IRV as a network: per-view iterative regressors (HMR) on the shared encoder's features.

Each view's regressor is two FC layers and a linear update, applied ``iterations`` times starting
from the mean parameters: ``theta <- theta + dec(FC(FC([feature, context, theta])))``. Weights are
not shared between views (the paper: a rig's camera ``v`` sees the person from a typical side)
unless ``shared_regressor`` is set (for rigs whose views have no fixed order).
"""

from __future__ import annotations

import torch
from torch import nn

from core.nets.config import IRVNetConfig


class ViewLinear(nn.Module):
    """A linear layer with one weight matrix per view (``groups`` = V), or one for all (groups = 1).

    Input (..., V, in) -> (..., V, out).
    """

    def __init__(self, groups: int, in_dim: int, out_dim: int, gain: float = 1.0) -> None:
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.empty(groups, in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(groups, out_dim))
        for g in range(groups):
            nn.init.xavier_uniform_(self.weight.data[g].T, gain=gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return x @ self.weight[0] + self.bias[0]
        if x.shape[-2] != self.groups:
            raise ValueError(f"this network has per-view regressors for {self.groups} views, got {x.shape[-2]} views")
        return torch.einsum("...vi,vio->...vo", x, self.weight) + self.bias


class IRVNet(nn.Module):
    """Features (..., V, F) and camera context (..., V, C) -> parameter vectors per iteration."""

    def __init__(self, config: IRVNetConfig, feature_dim: int, context_dim: int, param_dim: int) -> None:
        super().__init__()
        self.iterations = config.iterations
        groups = 1 if config.shared_regressor else config.num_views
        self.fc1 = ViewLinear(groups, feature_dim + context_dim + param_dim, config.hidden)
        self.fc2 = ViewLinear(groups, config.hidden, config.hidden)
        # A small last layer: every iteration starts as a gentle update of the mean (HMR).
        self.dec = ViewLinear(groups, config.hidden, param_dim, gain=0.01)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, features: torch.Tensor, context: torch.Tensor, mean: torch.Tensor) -> list[torch.Tensor]:
        """Returns ``iterations`` tensors (..., V, D), the last one the prediction."""
        theta = mean.expand(*features.shape[:-1], -1)
        outputs = []
        for _ in range(self.iterations):
            x = torch.cat([features, context, theta], dim=-1)
            x = self.drop(torch.relu(self.fc1(x)))
            x = self.drop(torch.relu(self.fc2(x)))
            theta = theta + self.dec(x)
            outputs.append(theta)
        return outputs
