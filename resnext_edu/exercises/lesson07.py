"""Self-checks for lesson 07 (ResNeXt in practice).

* :func:`check_top1`: the learner's ``top1(logits, categories)`` returns each image's most likely category name.
* :func:`check_stage3_path_params`: the weights of the 32 paths' 3x3 convolutions in a stage-3 block (Eq. 4's
  middle term), checked against the block of the package's ResNeXt-50.
* :func:`check_fastest_form`: which form ran fastest in the learner's own timing.
"""

from __future__ import annotations

import torch

from ..i18n import _
from ..models import create
from . import Feedback, check_number, empty


def check_top1(top1) -> Feedback:
    """Run ``top1(logits, categories)`` on random logits and compare with the largest logit of each row."""
    if top1 is None or top1 is ...:
        return empty(_("your function"))
    if not callable(top1):
        return Feedback(
            False,
            _("Pass your function itself (no parentheses), got a {kind}.").format(
                kind=type(top1).__name__
            ),
        )
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(4, 10, generator=generator)
    categories = [f"category {i}" for i in range(10)]
    expected = [categories[max(range(10), key=lambda j: row[j])] for row in logits.tolist()]
    try:
        got = top1(logits, categories)
    except NotImplementedError:
        return empty(_("your function"))
    except (
        Exception
    ) as error:  # the learner's code: report any error as feedback, not as a traceback
        return Feedback(
            False,
            _("Your function raised {error_type}: {error}").format(
                error_type=type(error).__name__, error=error
            ),
            _("logits.argmax(dim=1) gives one index per row; look each up in categories."),
        )
    if got is None or got is ...:
        return Feedback(False, _("Your function returns nothing yet: end it with `return names`."))
    got = list(got) if not isinstance(got, str) else [got]
    if len(got) != len(expected):
        return Feedback(
            False,
            _("Your function returned {count} names for {images} images.").format(
                count=len(got), images=len(expected)
            ),
            _("One name per row of logits: argmax along dim=1, not over the whole tensor."),
        )
    if got == expected:
        return Feedback(
            True,
            _(
                "Your top-1 names equal the largest logit of every row. Softmax is not needed: it "
                "keeps the order of the logits."
            ),
        )
    return Feedback(
        False,
        _("For 4 random rows you returned {got}, expected {expected}.").format(
            got=got, expected=expected
        ),
        _("Take the argmax along dim=1 (the classes), then categories[index] for each."),
    )


def stage3_path_params() -> int:
    """The weights of the grouped 3x3 of a stage-3 block of the package's ResNeXt-50 (measured on the meta device)."""
    with torch.device("meta"):
        model = create("resnext50_32x4d")
    return model.layer3[1].conv2.weight.numel()


def check_stage3_path_params(answer) -> Feedback:
    return check_number(
        answer,
        stage3_path_params(),
        what=_("the weights of the 32 paths' 3x3 convolutions in a stage-3 block of ResNeXt-50"),
        hint=_(
            "Eq. 4's middle term is C·3·3·d·d. In stage 3 the stage width is 256, so "
            "d = floor(256·4/64)."
        ),
    )


def check_fastest_form(answer, times_ms: dict[str, float]) -> Feedback:
    """``answer``: "A", "B" or "C"; ``times_ms``: form -> the median time measured in the lesson."""
    if answer is None or answer is ...:
        return Feedback(False, _('Write the letter of the form you think ran fastest, e.g. "C".'))
    fastest = min(times_ms, key=times_ms.get)
    ranking = ", ".join(f"{f}: {times_ms[f]:.1f} ms" for f in sorted(times_ms, key=times_ms.get))
    if str(answer).strip().upper() == fastest:
        return Feedback(
            True,
            _(
                "Form {fastest} was fastest here ({ranking}): the same multiply-adds in the "
                "fewest, largest operations."
            ).format(fastest=fastest, ranking=ranking),
        )
    return Feedback(
        False,
        _("Here the measured order was {ranking}.").format(ranking=ranking),
        _(
            "Count the convolutions each form launches per block: 3 for form C, C·2 + 1 for B, C·3 for "
            "A."
        ),
    )
