"""The lessons' ipywidgets explorers, one module each; core ipywidgets only, for 7.7 (Colab) and 8.x (JupyterLab 4).

Every explorer is an :class:`~resnext_edu.widgets.base.Explorer`: its controls call ``update()``, which computes,
stores what it drew (``explorer.state``) and redraws one inline matplotlib figure inside an ``Output`` with
``clear_output(wait=True)``. Invalid combinations show a message in the widget. The tests drive ``update()`` and read
``state`` without a browser.
"""

from .base import Explorer
from .block_explorer import BlockExplorer
from .complexity_explorer import ComplexityExplorer
from .inside_explorer import InsideExplorer
from .sweep_explorer import SweepExplorer, TrainButton

# The factories (block_explorer(), ...) share their modules' names, so they are imported from the modules, as the
# lessons do: ``from resnext_edu.widgets.block_explorer import block_explorer``.
__all__ = ["Explorer", "BlockExplorer", "ComplexityExplorer", "InsideExplorer", "SweepExplorer", "TrainButton"]
