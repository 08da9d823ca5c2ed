"""ImageNet-trained ResNet-50 and ResNeXt-50/101 as the project's own models, in any block form (lesson 07).

The one way to get them is this module: :func:`build` returns the model (or raises :class:`WeightsUnavailable`),
:func:`load` wraps it in a :class:`Pretrained` that also carries the weights' metadata and, when ``untrained_ok``,
falls back to untrained weights where the file cannot be fetched. ``hubconf.py`` calls :func:`build`.

Where each piece comes from:

* the architecture: :func:`resnext_edu.models.create` (Table 1's ImageNet template). Its parameter names are
  torchvision's, so torchvision's state dict loads with ``strict=True``; forms "A" and "B" (Fig. 3) are made from the
  loaded form "C" with :func:`resnext_edu.blocks.convert` (:func:`to_form`).
* preprocessing, the 1,000 category names and the published accuracy: torchvision's weights enum (e.g.
  ``ResNeXt50_32X4D_Weights.IMAGENET1K_V2``), which ships in torchvision's wheel and works offline.
* the weight file: :func:`torch.hub.load_state_dict_from_url` into torch's hub cache
  (``<TORCH_HOME>/hub/checkpoints``, ``TORCH_HOME`` defaulting to ``~/.cache/torch``), with torch's hash check. torch
  downloads into a ``.partial`` file beside the target and moves it in place only once it is complete and its SHA-256
  starts with the hash in the file's name, so a broken download leaves nothing behind; the second run is offline.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import torch
from torchvision.models import WeightsEnum, get_model_weights

from .blocks import FORMS, ResNeXtBlock, convert
from .checks import check_choice
from .models import ResNeXt, create

ARCHITECTURES = (
    "resnet50",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
)  # torchvision has weights


class WeightsUnavailable(RuntimeError):
    """The weight file could not be fetched or read; the message is one line that says why and what to do."""


def weights_for(name: str, weights: str | WeightsEnum = "DEFAULT") -> WeightsEnum:
    """torchvision's weights enum member for ``name``: "DEFAULT" (the best torchvision has), a member's name such as
    "IMAGENET1K_V1" (the weights trained with the paper's recipe) or the member itself."""
    check_choice("name", name, ARCHITECTURES)
    enum = get_model_weights(name)
    if isinstance(weights, enum):
        return weights
    if weights == "DEFAULT":
        return enum.DEFAULT
    try:
        return enum[weights]
    except (KeyError, TypeError):
        raise ValueError(
            f"{name} has no weights {weights!r}. Allowed: 'DEFAULT', "
            f"{', '.join(repr(m.name) for m in enum)}."
        ) from None


def cache_file(weights: WeightsEnum, url: str | None = None) -> Path:
    """Where torch's hub cache keeps the weight file (it may not exist yet)."""
    return (
        Path(torch.hub.get_dir())
        / "checkpoints"
        / os.path.basename(urlparse(url or weights.url).path)
    )


def fetch_state_dict(
    weights: WeightsEnum, *, url: str | None = None, progress: bool = False
) -> dict:
    """The state dict of ``weights``, from torch's hub cache or downloaded into it (``url`` overrides the address,
    e.g. a mirror or a ``file://`` path; its file name must keep the hash). Raises :class:`WeightsUnavailable`."""
    url = url or weights.url
    file = cache_file(weights, url)
    what = f"the {weights} weights"
    try:
        return torch.hub.load_state_dict_from_url(
            url,
            model_dir=str(file.parent),
            map_location="cpu",
            progress=progress,
            check_hash=True,
            weights_only=True,
        )
    except (
        Exception
    ) as error:  # any failure of the download or of torch.load becomes the one clear line below
        reason = (
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no details'}"
        )
        if file.is_file():  # complete on disk, but unreadable: a file copied in half, or damaged
            file.unlink()
            raise WeightsUnavailable(
                f"The cached file {file} of {what} could not be read ({reason}); it was removed from the cache. "
                f"Run again to download it afresh, or copy a complete {file.name} there."
            ) from error
        if "hash" in str(error):
            raise WeightsUnavailable(
                f"The download of {what} from {url} was incomplete or altered (its SHA-256 does not start with the "
                f"hash in its name); nothing was saved in {file.parent}. Run again to retry."
            ) from error
        raise WeightsUnavailable(
            f"Could not download {what} from {url} ({reason}). They need the internet once, then stay in "
            f"{file.parent}. Without internet, copy {file.name} there from a machine that has it (or set "
            f"TORCH_HOME); behind a proxy, set HTTPS_PROXY; or pass untrained_ok=True to go on untrained."
        ) from error


def to_form(model: ResNeXt, form: str) -> ResNeXt:
    """A copy of ``model`` with every block converted to ``form`` ("A", "B" or "C") by :func:`blocks.convert`: the
    same function (Fig. 3), other layers. Form "A" of ResNeXt-50 holds 32 literal paths in each of its 16 blocks."""
    check_choice("form", form, FORMS)
    new = copy.deepcopy(model)
    for stage in new.stages:
        for i, block in enumerate(stage):
            if isinstance(block, ResNeXtBlock) and block.form != form:
                stage[i] = convert(block, form)
    new.config = replace(new.config, form=form)
    return new


def build(
    name: str,
    weights: str | WeightsEnum | None = "DEFAULT",
    *,
    form: str = "C",
    url: str | None = None,
    progress: bool = False,
) -> ResNeXt:
    """The project's ``name`` model with torchvision's ImageNet ``weights`` loaded (``strict=True``), in ``form``,
    in eval mode. ``weights=None`` gives the untrained model. Raises :class:`WeightsUnavailable` when the weight file
    cannot be fetched (see :func:`fetch_state_dict`).

    Example: ``build("resnext50_32x4d", form="A")``: ResNeXt-50 32x4d with 32 literal paths per block.
    """
    check_choice("name", name, ARCHITECTURES)
    check_choice("form", form, FORMS)
    model = create(name)
    if weights is not None:
        model.load_state_dict(
            fetch_state_dict(weights_for(name, weights), url=url, progress=progress), strict=True
        )
    return to_form(model, form).eval() if form != "C" else model.eval()


@dataclass
class Pretrained:
    """A model with what lesson 07 shows beside it: the weights' categories, preprocessing and published accuracy."""

    name: str  # e.g. "resnext50_32x4d"
    model: ResNeXt  # in eval mode
    weights: WeightsEnum  # torchvision's enum member: its metadata is real even when the file was not fetched
    trained: bool  # False: the file could not be fetched and the weights are random
    note: str  # where the weights came from, or why they are untrained

    @property
    def categories(self) -> list[str]:
        return self.weights.meta["categories"]

    @property
    def transforms(self):
        """torchvision's preprocessing of these weights: resize, center crop 224, normalise."""
        return self.weights.transforms()

    @property
    def published_top1(self) -> float:
        """ImageNet-1K top-1 accuracy (%) that torchvision publishes for these weights (224 single crop)."""
        return self.weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]

    def label(self, text: str) -> str:
        """``text`` as is for trained weights; marked meaningless for untrained ones."""
        return text if self.trained else f"{text} [untrained: meaningless]"


def load(
    name: str,
    weights: str | WeightsEnum = "DEFAULT",
    *,
    form: str = "C",
    untrained_ok: bool = False,
    url: str | None = None,
    progress: bool = False,
) -> Pretrained:
    """:func:`build` wrapped in a :class:`Pretrained`. With ``untrained_ok``, a weight file that cannot be fetched
    gives the untrained model (``trained=False``, the reason in ``note``; seeded, so every run shows the same
    meaningless predictions) instead of an error."""
    member = weights_for(name, weights)
    try:
        model = build(name, member, form=form, url=url, progress=progress)
    except WeightsUnavailable as error:
        if not untrained_ok:
            raise
        with torch.random.fork_rng(
            devices=[]
        ):  # the same untrained weights every run; the caller's RNG untouched
            torch.manual_seed(0)
            model = build(name, None, form=form)
        return Pretrained(name, model, member, False, str(error))
    return Pretrained(name, model, member, True, f"{member} from {cache_file(member, url)}")


def status(loaded: list[Pretrained]) -> str:
    """One line for the lesson: trained weights, or (once for all) why they are untrained here."""
    untrained = [p for p in loaded if not p.trained]
    if not untrained:
        return "Trained ImageNet weights: " + "; ".join(p.note for p in loaded) + "."
    names = " and ".join(p.name for p in untrained)
    return (
        f"OFFLINE: the weights of {names} are UNTRAINED (random) here, so every prediction below is meaningless "
        f"and marked so; with the internet (or the files in torch's cache) the same cells show trained results. "
        f"Why: {untrained[0].note}"
    )
