"""Losses and Keras metrics by name, written with keras.ops so they work on any backend.

Every loss takes y_true (0/1) and y_pred (sigmoid probabilities) of the same shape, either
(B, 1) for classifiers or (B, H, W, 1) for segmenters, and returns one value per sample, (B,):
Keras applies sample weights and averages over the batch.
"""
from __future__ import annotations

from typing import Callable, Dict

from edge.errors import ConfigError

_EPS = 1e-7


def _flat(y_true, y_pred):
    from keras import ops

    y_pred = ops.clip(ops.cast(y_pred, "float32"), _EPS, 1.0 - _EPS)
    y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), "float32")
    return y_true, y_pred


def _per_sample_mean(x):
    from keras import ops

    return ops.mean(ops.reshape(x, (ops.shape(x)[0], -1)), axis=1)


def bce(y_true, y_pred):
    """Binary cross-entropy."""
    return weighted_bce(y_true, y_pred, pos_weight=1.0)


def weighted_bce(y_true, y_pred, pos_weight: float = 10.0):
    """Cross-entropy with crack pixels weighted `pos_weight` times: thin cracks cover a few
    per cent of an image, and unweighted CE learns to predict background."""
    from keras import ops

    t, p = _flat(y_true, y_pred)
    ce = -(pos_weight * t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p))
    return _per_sample_mean(ce)


def focal(y_true, y_pred, gamma: float = 2.0, alpha: float = 0.25):
    """Focal loss (Lin et al.): cross-entropy scaled by (1 - p_t)^gamma, alpha for the crack class."""
    from keras import ops

    t, p = _flat(y_true, y_pred)
    p_t = t * p + (1.0 - t) * (1.0 - p)
    a_t = t * alpha + (1.0 - t) * (1.0 - alpha)
    return _per_sample_mean(-a_t * ops.power(1.0 - p_t, gamma) * ops.log(p_t))


def dice(y_true, y_pred, smooth: float = 1.0):
    """Soft Dice (= soft F1) loss per image, 1 - (2 sum(t p) + s) / (sum t + sum p + s)."""
    from keras import ops

    t, p = _flat(y_true, y_pred)
    t, p = ops.reshape(t, (ops.shape(t)[0], -1)), ops.reshape(p, (ops.shape(p)[0], -1))
    inter = ops.sum(t * p, axis=1)
    return 1.0 - (2.0 * inter + smooth) / (ops.sum(t, axis=1) + ops.sum(p, axis=1) + smooth)


def bce_dice(y_true, y_pred):
    """BCE + soft Dice: BCE for calibrated probabilities, Dice against the class imbalance."""
    return bce(y_true, y_pred) + dice(y_true, y_pred)


def _dilate(x, tol: int):
    from keras import ops

    k = 2 * tol + 1
    return ops.max_pool(x, pool_size=k, strides=1, padding="same")


def f1_tolerance(y_true, y_pred, tol: int = 2, smooth: float = 1.0):
    """1 - soft F1 with a tolerance (Dais et al. 2021): a predicted crack pixel within `tol` px
    (a (2 tol + 1)^2 window) of a true one is not punished, nor a true one near a prediction."""
    from keras import ops

    t, p = _flat(y_true, y_pred)
    if len(t.shape) != 4:  # a classifier's (B, 1): no neighbourhood, plain soft F1
        return dice(t, p, smooth)
    near_t, near_p = _dilate(t, tol), _dilate(p, tol)
    axes = (1, 2, 3)
    precision = (ops.sum(p * near_t, axis=axes) + smooth) / (ops.sum(p, axis=axes) + smooth)
    recall = (ops.sum(t * near_p, axis=axes) + smooth) / (ops.sum(t, axis=axes) + smooth)
    return 1.0 - 2.0 * precision * recall / (precision + recall + _EPS)


def _erode(x):
    """Soft erosion: the minimum over the 4-neighbourhood (two 1-D min pools, as in clDice)."""
    from keras import ops

    return ops.minimum(-ops.max_pool(-x, pool_size=(3, 1), strides=1, padding="same"),
                       -ops.max_pool(-x, pool_size=(1, 3), strides=1, padding="same"))


def _open(x):
    from keras import ops

    return ops.max_pool(_erode(x), pool_size=3, strides=1, padding="same")


def soft_skeleton(x, iterations: int = 10):
    """Soft morphological skeleton (Shit et al., clDice, CVPR 2021) of (B, H, W, 1) maps: what each
    erosion step's opening removes, summed; on a 0/1 mask, the centreline of every band up to
    2 * iterations + 1 px wide."""
    from keras import ops

    skel = ops.relu(x - _open(x))
    for _ in range(iterations):
        x = _erode(x)
        delta = ops.relu(x - _open(x))
        skel = skel + ops.relu(delta - skel * delta)
    return skel


def cldice(y_true, y_pred, iterations: int = 10, smooth: float = 1.0):
    """1 - soft clDice: the F1 of the predicted skeleton lying inside the true mask and the true
    skeleton lying inside the prediction. Each pixel of a crack's centreline weighs the same however
    wide the crack is, so a missed hairline branch, or two close cracks predicted as one band (its
    centreline runs between them), costs as much as its length, not its few pixels."""
    from keras import ops

    t, p = _flat(y_true, y_pred)
    if len(t.shape) != 4:  # a classifier's (B, 1): no shape to thin, plain soft F1
        return dice(t, p, smooth)
    axes = (1, 2, 3)
    skel_p, skel_t = soft_skeleton(p, iterations), soft_skeleton(t, iterations)
    precision = (ops.sum(skel_p * t, axis=axes) + smooth) / (ops.sum(skel_p, axis=axes) + smooth)
    recall = (ops.sum(skel_t * p, axis=axes) + smooth) / (ops.sum(skel_t, axis=axes) + smooth)
    return 1.0 - 2.0 * precision * recall / (precision + recall + _EPS)


def bce_dice_cldice(y_true, y_pred):
    """BCE + soft Dice + half soft clDice: the pixels as bce_dice has them, and the crack's centreline
    (length, branches, gaps between close cracks) weighted as clDice's authors weigh it (alpha 0.5)."""
    return bce_dice(y_true, y_pred) + 0.5 * cldice(y_true, y_pred)


LOSSES: Dict[str, Callable] = {
    "bce": bce,
    "weighted_bce": weighted_bce,
    "focal": focal,
    "dice": dice,
    "bce_dice": bce_dice,
    "f1_tolerance": f1_tolerance,
    "cldice": cldice,
    "bce_dice_cldice": bce_dice_cldice,
}


def get_loss(name: str) -> Callable:
    from .models import suggest

    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}" + suggest(name, LOSSES))
    return LOSSES[name]


def pixel_f1_metric(threshold: float = 0.5, name: str = "pixel_f1"):
    """Keras metric: exact-pixel F1 over all pixels seen in an epoch (counts summed, then F1),
    a thin wrapper over the same definition as segmetrics.pixel_metrics."""
    import keras
    from keras import ops

    class PixelF1(keras.metrics.Metric):
        def __init__(self, **kw):
            super().__init__(name=name, **kw)
            self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")
            self.fp = self.add_variable(shape=(), initializer="zeros", name="fp")
            self.fn = self.add_variable(shape=(), initializer="zeros", name="fn")

        def update_state(self, y_true, y_pred, sample_weight=None):
            t = ops.cast(ops.reshape(y_true, (-1,)) >= 0.5, "float32")
            p = ops.cast(ops.reshape(y_pred, (-1,)) >= threshold, "float32")
            self.tp.assign_add(ops.sum(t * p))
            self.fp.assign_add(ops.sum((1.0 - t) * p))
            self.fn.assign_add(ops.sum(t * (1.0 - p)))

        def result(self):
            return ops.divide_no_nan(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn)

        def reset_state(self):
            for v in (self.tp, self.fp, self.fn):
                v.assign(0.0)

    return PixelF1()
