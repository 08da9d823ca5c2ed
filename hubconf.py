"""torch.hub entry points of resnext-edu: every registered model of ``resnext_edu.models`` (lesson 07).

    torch.hub.list("resnext-edu/resnext-edu")                          # the names
    torch.hub.help("resnext-edu/resnext-edu", "resnext29_8x64d")       # a docstring
    torch.hub.load("resnext-edu/resnext-edu", "resnext29_8x64d", stage_widths=(16, 32, 64))   # keyword overrides
    torch.hub.load("resnext-edu/resnext-edu", "resnext50_32x4d", weights="DEFAULT", form="A")  # ImageNet-trained
    torch.hub.load("/path/to/checkout", "resnext50_32x4d", source="local")                     # a local checkout

``weights`` exists for the names torchvision has ImageNet weights for (resnet50, resnext50_32x4d, resnext101_32x8d,
resnext101_64x4d); it loads them with ``resnext_edu.pretrained.build`` (torch's hub cache, strict loading). Every
other model is untrained: the CIFAR models are trained in lessons 05 and 06.
"""

from resnext_edu import models as _models
from resnext_edu import pretrained as _pretrained

dependencies = ["torch", "torchvision"]


def _entry(name: str):
    """The hub function for one registered name, with its own docstring."""
    trained = name in _pretrained.ARCHITECTURES

    def entry(weights=None, **overrides):
        if "pretrained" in overrides:
            raise ValueError(
                "pretrained=True is the old torchvision spelling: pass weights='DEFAULT' (or a member "
                "name such as 'IMAGENET1K_V1') instead."
            )
        if weights is None:
            return _models.create(name, **overrides)
        if not trained:
            raise ValueError(
                f"{name} has no published weights: weights must be None. ImageNet weights exist for "
                f"{', '.join(_pretrained.ARCHITECTURES)}; train the CIFAR models in lessons 05-06."
            )
        extra = sorted(set(overrides) - {"form", "progress"})
        if extra:
            raise ValueError(
                f"With weights, only form and progress can be chosen (the weights fix the rest); "
                f"got {', '.join(extra)}. Load without weights to change the architecture."
            )
        return _pretrained.build(name, weights, **overrides)

    entry.__name__ = entry.__qualname__ = name
    config = _models.config_for(name)
    entry.__doc__ = (
        f"{name}: the {config.template} template, cardinality C = {config.cardinality}, base width "
        f"(d at 64 planes) {config.base_width}, {config.num_classes} classes (resnext_edu.models.create).\n\n"
        "Keyword overrides as in models.create: num_classes, form ('A'/'B'/'C'), stage_widths, stem_width, "
        "cardinality, base_width, shortcut, residual, blocks_per_stage.\n"
        + (
            "weights: None (untrained, the default), 'DEFAULT' or a torchvision member name such as 'IMAGENET1K_V1'; "
            "with weights, form and progress may be chosen.\n"
            if trained
            else "weights: None only (no published weights for this model).\n"
        )
    )
    return entry


resnet29 = _entry("resnet29")
resnext29_2x64d = _entry("resnext29_2x64d")
resnext29_4x64d = _entry("resnext29_4x64d")
resnext29_8x64d = _entry("resnext29_8x64d")
resnext29_16x64d = _entry("resnext29_16x64d")
resnext29_32x4d = _entry("resnext29_32x4d")
resnet50 = _entry("resnet50")
resnext50_32x4d = _entry("resnext50_32x4d")
resnet101 = _entry("resnet101")
resnext101_32x4d = _entry("resnext101_32x4d")
resnext101_32x8d = _entry("resnext101_32x8d")
resnext101_64x4d = _entry("resnext101_64x4d")
