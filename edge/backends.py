"""Which engine runs a model: `litert` (the .tflite through a TFLite interpreter) or `native`
(the model compiled to C by `python -m convert.ccode`). Callers get the same interface either way."""
from __future__ import annotations

from .bundle import Bundle
from .errors import ModelError

BACKENDS = ("litert", "native")


def _check(bundle: Bundle, backend: str) -> None:
    from .native import is_native_bundle

    if backend not in BACKENDS:
        raise ModelError(f"unknown model backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "litert" and is_native_bundle(bundle):
        raise ModelError(f"{bundle.folder}: holds a compiled library ({bundle.info.file}); set models.backend: native")


def make_classifier(bundle: Bundle, backend: str = "litert", threads: int = 2):
    """An object with edge.classifier.Classifier's interface (info, name, sha256, input_size, classify)."""
    _check(bundle, backend)
    if backend == "native":
        from .native import NativeClassifier

        return NativeClassifier(bundle, threads)
    from .classifier import Classifier

    return Classifier(bundle, threads=threads)


def make_segmenter(bundle: Bundle, backend: str = "litert", threads: int = 2):
    """An object with edge.segmenter.Segmenter's interface (segment(), tile_size, threshold, ...)."""
    _check(bundle, backend)
    if backend == "native":
        from .native import NativeSegmenter

        return NativeSegmenter(bundle, threads)
    from .segmenter import Segmenter

    return Segmenter(bundle, threads=threads)
