"""Two-stage self-supervised training of CMANet (``cmanet train``): data, pseudo-label banks and
their SMPLify teachers, losses, checkpoints, the metrics log, DDP."""

from core.train.config import TrainConfig, load_train_config
from core.train.trainer import STAGES, TrainSummary, train

__all__ = ["STAGES", "TrainConfig", "TrainSummary", "load_train_config", "train"]
