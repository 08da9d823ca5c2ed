"""The lessons' ipywidgets explorers, one module each; core ipywidgets only, for 7.7 (Colab) and 8.x (JupyterLab 4).

Every explorer is an :class:`~resnext_edu.widgets.base.Explorer`: its controls call ``update()``, which computes,
stores what it drew (``explorer.state``) and redraws one inline matplotlib figure inside an ``Output`` with
``clear_output(wait=True)``. Invalid combinations show a message in the widget. The tests drive ``update()`` and read
``state`` without a browser.
"""

from .base import Explorer
from .cardinality_dashboard import CardinalityDashboard
from .inside_explorer import InsideExplorer
from .sweep_explorer import SweepExplorer, TrainButton

# The factories (cardinality_dashboard(), ...) share their modules' names, so they are imported from the modules, as the
# lessons do: ``from resnext_edu.widgets.cardinality_dashboard import cardinality_dashboard``.
__all__ = ["Explorer", "CardinalityDashboard", "InsideExplorer", "SweepExplorer", "TrainButton"]
