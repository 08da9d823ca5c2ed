"""The course's Sphinx extension: how MyST-NB executes the lessons and what a lesson page adds to the notebook.

* Execution. MyST-NB's cache mode executes a lesson through jupyter-cache, which calls ``nbclient.execute``. Here
  that call uses the tests' :class:`NudgingClient` (``tests/kernel_client.py``): zmq's edge-triggered sockets can
  lose the wake-up of a reply, after which a plain nbclient waits for the whole cell timeout with the kernel idle.
  On top of the per-cell timeout (``nb_execution_timeout``) a lesson has a budget for all its cells
  (``resnext_edu_lesson_timeout``); either ends the build with the cell that ran out, and nothing is retried.
* Widgets. A static page cannot run the explorers' Python callbacks, and a control that looks alive but does nothing
  misleads. Each widget output is replaced by what it showed when the lesson ran (its HTML, its figures, from the
  widget state nbclient recorded) and one line: the values it was drawn for, and that its controls work in
  JupyterLab or on Colab, with the link that opens the lesson there. No widget JavaScript is loaded.
* Links. The lesson's "Open in Colab" badge (an image on colab.research.google.com, which an offline reader cannot
  load) becomes a text link, followed by a link that downloads the notebook as committed (no outputs). Inline code
  in a lesson's text that names a function or class of the package links to the reference page.
* Words. What this extension writes on a page (the links' labels, the widgets' note) is in the edition's language
  (Sphinx's ``language``: :data:`WORDS`).
"""

from __future__ import annotations

import functools
import html
import re
import sys
import time
from pathlib import Path

import jupyter_cache.executors.utils as jupyter_cache_executors
import myst_nb.core.execute as myst_nb_execute
import nbformat
from docutils import nodes
from myst_nb.core.execute.cache import NotebookClientCache
from sphinx import addnodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from traitlets import Integer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from kernel_client import NudgingClient  # noqa: E402  (tests/kernel_client.py)

logger = logging.getLogger(__name__)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"']+\.ipynb")


# ----------------------------------------------------------------------------------------------------------------
# Execution
# ----------------------------------------------------------------------------------------------------------------
class LessonClient(NudgingClient):
    """:class:`NudgingClient` with a budget for the whole lesson: each cell's timeout is the smaller of
    ``timeout`` and what is left of ``lesson_timeout``."""

    lesson_timeout = Integer(0, help="seconds for all the cells of a notebook; 0: no budget").tag(
        config=True
    )
    _deadline: float | None = None

    def execute(self, **kwargs):
        self._deadline = time.monotonic() + self.lesson_timeout if self.lesson_timeout > 0 else None
        return super().execute(**kwargs)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, int(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)


def execute_lesson(nb, cwd=None, km=None, *, lesson_timeout: int = 0, **kwargs):
    """``nbclient.execute`` (what jupyter-cache calls), run by :class:`LessonClient`."""
    resources = {"metadata": {"path": cwd}} if cwd else {}
    return LessonClient(
        nb=nb, resources=resources, km=km, lesson_timeout=lesson_timeout, **kwargs
    ).execute()


# ----------------------------------------------------------------------------------------------------------------
# Widgets: what they showed, without controls
# ----------------------------------------------------------------------------------------------------------------
BOXES = {
    "VBoxModel",
    "HBoxModel",
    "BoxModel",
    "GridBoxModel",
    "AccordionModel",
    "TabModel",
    "StackModel",
}
TEXTS = {"HTMLModel", "HTMLMathModel", "LabelModel"}
PROGRESS = {"FloatProgressModel", "IntProgressModel"}
CHOICES = {
    "DropdownModel",
    "SelectModel",
    "RadioButtonsModel",
    "ToggleButtonsModel",
    "SelectionSliderModel",
    "SelectMultipleModel",
    "SelectionRangeSliderModel",
}
VALUES = {
    "IntSliderModel",
    "FloatSliderModel",
    "FloatLogSliderModel",
    "IntRangeSliderModel",
    "FloatRangeSliderModel",
    "IntTextModel",
    "FloatTextModel",
    "BoundedIntTextModel",
    "BoundedFloatTextModel",
    "CheckboxModel",
    "ToggleButtonModel",
    "TextModel",
    "TextareaModel",
}
BUTTONS = {"ButtonModel"}

#: What the extension writes on a page, by edition (Sphinx's ``language``; another language gets the English).
WORDS = {
    "en": {
        "colab": "Open in Colab",
        "download": "Download the notebook",
        "shown": "Shown for {controls}. ",
        "controls": "Its controls",
        "button": "Its button",
        "buttons": "Its buttons",
        "work": "{what} work in JupyterLab or on Colab, not on this page: {where}.",
        "open": "open this lesson in Colab",
        "there": "open this lesson there",
        "on": "on",
        "off": "off",
        "none": "none",
        "to": " to ",
    },
    "zh_CN": {
        "colab": "在 Colab 中打开",
        "download": "下载笔记本",
        "shown": "此处显示的是 {controls} 时的结果。",
        "controls": "其控件",
        "button": "其按钮",
        "buttons": "其按钮",
        "work": "{what}只能在 JupyterLab 或 Colab 中使用，在本页上不能操作：{where}。",
        "open": "在 Colab 中打开本课",
        "there": "请在那里打开本课",
        "on": "开",
        "off": "关",
        "none": "无",
        "to": " 到 ",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


class StaticWidget:
    """One widget output as plain outputs: HTML fragments, the outputs of its ``Output`` widgets, and a note on its
    controls, in the order the widget lays them out. Models it does not know are named in ``unknown``."""

    def __init__(self, state: dict, colab_url: str | None, language: str = "en"):
        self.state, self.colab_url = state, colab_url
        self.language, self.words = language, words(language)
        self.outputs: list = []
        self.html: list[str] = []
        self.controls: list[str] = []
        self.buttons: list[str] = []
        self.note_at: int | None = (
            None  # where the controls were: (outputs, html) position of the note
        )
        self.unknown: list[str] = []

    def convert(self, output) -> list:
        self.visit(output["data"][WIDGET_VIEW]["model_id"])
        self.flush()
        if self.note_at is not None:
            self.outputs.insert(self.note_at, html_output(self.note()))
        return self.outputs

    def visit(self, model_id: str) -> None:
        model = self.state.get(model_id)
        if model is None:
            self.unknown.append(f"a widget whose state was not recorded ({model_id})")
            return
        name, state = model["model_name"], model["state"]
        if self.hidden(state):
            return
        description = state.get("description") or ""
        if name in BOXES:
            for child in state.get("children", []):
                self.visit(child.removeprefix("IPY_MODEL_"))
        elif name == "OutputModel":
            self.flush()
            for inner in state.get("outputs", []):
                self.outputs.extend(
                    static_outputs(
                        [nbformat.from_dict(inner)],
                        self.state,
                        self.colab_url,
                        self.unknown,
                        self.language,
                    )
                )
        elif name in TEXTS:
            value = state.get("value") or ""
            text = html.escape(value) if name == "LabelModel" else value
            if value.strip():
                self.html.append(f"{html.escape(description)} {text}" if description else text)
        elif name in PROGRESS:
            self.html.append(
                f"<progress value='{state.get('value', 0)}' max='{state.get('max', 100)}'>"
                f"{state.get('value', 0)}</progress>"
            )
        elif name in CHOICES:
            labels, index = state.get("_options_labels", []), state.get("index")
            chosen = [
                labels[i]
                for i in (index if isinstance(index, list) else [index])
                if i is not None and i < len(labels)
            ]
            self.control(description or name, ", ".join(chosen) if chosen else self.words["none"])
        elif name in VALUES:
            self.control(description or name, state.get("value"))
        elif name in BUTTONS:
            self.mark_note()
            self.buttons.append(description or "a button")
        else:
            self.unknown.append(name)

    def hidden(self, state: dict) -> bool:
        layout = self.state.get(str(state.get("layout", "")).removeprefix("IPY_MODEL_"), {}).get(
            "state", {}
        )
        return layout.get("display") == "none" or layout.get("visibility") == "hidden"

    def control(self, description: str, value) -> None:
        self.mark_note()
        if isinstance(value, bool):
            shown = self.words["on"] if value else self.words["off"]
        elif isinstance(value, list):
            shown = self.words["to"].join(str(v) for v in value)
        else:
            shown = value
        self.controls.append(
            f"<b>{html.escape(description.rstrip(':'))}</b> = {html.escape(str(shown))}"
        )

    def mark_note(self) -> None:
        if self.note_at is None:
            self.flush()
            self.note_at = len(self.outputs)

    def flush(self) -> None:
        if self.html:
            self.outputs.append(
                html_output("<div class='resnext-edu-widget-html'>" + "".join(self.html) + "</div>")
            )
            self.html = []

    def note(self) -> str:
        w = self.words
        shown = w["shown"].format(controls=", ".join(self.controls)) if self.controls else ""
        if self.controls:
            what = w["controls"]
        else:
            what = w["buttons"] if len(self.buttons) > 1 else w["button"]
        if self.colab_url:
            where = f"<a href='{html.escape(self.colab_url)}'>{w['open']}</a>"
        else:
            where = w["there"]
        return f"<p class='resnext-edu-static-note'>{shown}{w['work'].format(what=what, where=where)}</p>"


def html_output(text: str):
    return nbformat.v4.new_output("display_data", data={"text/html": text})


def static_outputs(
    outputs: list, state: dict, colab_url: str | None, unknown: list[str], language: str = "en"
) -> list:
    """``outputs`` with every widget view replaced by :class:`StaticWidget`'s outputs."""
    converted = []
    for output in outputs:
        if output.get("output_type") in (
            "display_data",
            "execute_result",
        ) and WIDGET_VIEW in output.get("data", {}):
            widget = StaticWidget(state, colab_url, language)
            converted.extend(widget.convert(output))
            unknown.extend(widget.unknown)
        else:
            converted.append(output)
    return converted


class StaticWidgetClient(NotebookClientCache):
    """MyST-NB's cache client, handing the renderer widget outputs as :func:`static_outputs` and no widget state
    (so MyST-NB adds no widget JavaScript to the page). ``language``: the edition's (set by :func:`install_executor`)."""

    language = "en"

    def code_cell_outputs(self, cell_index: int):
        count, outputs = super().code_cell_outputs(cell_index)
        if not any(WIDGET_VIEW in o.get("data", {}) for o in outputs):
            return count, outputs
        state = self.notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        unknown: list[str] = []
        converted = static_outputs(
            outputs, state, colab_link(self.notebook), unknown, self.language
        )
        for name in dict.fromkeys(unknown):
            self.logger.warning(
                f"cell {cell_index}: the site cannot show {name} without JavaScript; "
                "add it to site/_ext/course_site.py (StaticWidget)",
                subtype="widget",
            )
        return count, converted

    @property
    def nb_metadata(self) -> dict:
        metadata = super().nb_metadata
        metadata.pop("widgets", None)
        return metadata


def colab_link(notebook) -> str | None:
    """The notebook's own "Open in Colab" link (its badge, written by ``resnext_edu.course``)."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = COLAB_LINK.search(cell.source)
            if found:
                return found.group(0)
    return None


# ----------------------------------------------------------------------------------------------------------------
# The lesson's links: Open in Colab, download the notebook
# ----------------------------------------------------------------------------------------------------------------
class LessonLinks(SphinxTransform):
    """On a notebook page: the Colab badge as a text link, and a link that downloads the notebook beside it."""

    default_priority = 500

    def apply(self) -> None:
        source = Path(self.env.doc2path(self.env.docname))
        if source.suffix != ".ipynb":
            return
        badge = next(
            (
                ref
                for ref in self.document.findall(nodes.reference)
                if COLAB_LINK.fullmatch(ref.get("refuri", ""))
                and any("colab-badge" in image.get("uri", "") for image in ref.findall(nodes.image))
            ),
            None,
        )
        if badge is None:
            logger.warning(
                f"{source.name} has no Open in Colab badge (python -m resnext_edu.course writes it)",
                location=self.env.docname,
            )
            return
        badge.clear()
        labels = words(self.config.language)
        badge += nodes.Text(labels["colab"])
        badge["classes"] += ["resnext-edu-colab"]
        download = addnodes.download_reference(
            "",
            "",
            reftarget=source.name,
            refdoc=self.env.docname,
            refdomain="",
            reftype="download",
            refexplicit=True,
            refwarn=True,
            classes=["resnext-edu-download"],
        )
        download += nodes.inline("", labels["download"])
        paragraph = badge.parent
        paragraph.insert(paragraph.index(badge) + 1, [nodes.Text(" "), download])
        paragraph["classes"] += ["resnext-edu-lesson-links"]


class ProseLinks(SphinxPostTransform):
    """In a lesson's text, inline code that names the package's function, class or method (``count(model)``,
    ``counting.count``, ``ResNeXtBlock``) links to its entry on the reference page, as its code cells do (there by
    sphinx-codeautolink). A bare name links only when one documented object has it."""

    default_priority = 900
    formats = ("html",)
    KINDS = ("function", "class", "method", "exception")
    NAME = re.compile(r"([A-Za-z_][\w.]*)(\(.*\))?")

    def run(self, **kwargs) -> None:
        if Path(self.env.doc2path(self.env.docname)).suffix != ".ipynb":
            return
        objects = {
            name: entry
            for name, entry in self.env.get_domain("py").objects.items()
            if entry.objtype in self.KINDS and name.startswith("resnext_edu.")
        }
        for literal in list(self.document.findall(nodes.literal)):
            if isinstance(literal.parent, (nodes.reference, nodes.literal_block)) or literal.get(
                "classes"
            ):
                continue
            found = self.NAME.fullmatch(literal.astext())
            if found is None or not (
                found.group(2) or "." in found.group(1) or found.group(1)[0].isupper()
            ):
                continue
            entry = self.resolve(found.group(1), objects)
            if entry is not None:
                uri = (
                    self.app.builder.get_relative_uri(self.env.docname, entry.docname)
                    + "#"
                    + entry.node_id
                )
                literal.replace_self(
                    nodes.reference(
                        "",
                        "",
                        literal.deepcopy(),
                        refuri=uri,
                        internal=True,
                        classes=["resnext-edu-api-link"],
                    )
                )

    @staticmethod
    def resolve(name: str, objects: dict):
        for full in (name, f"resnext_edu.{name}"):
            if full in objects:
                return objects[full]
        matches = [entry for full, entry in objects.items() if full.endswith("." + name)]
        return matches[0] if len(matches) == 1 else None


# ----------------------------------------------------------------------------------------------------------------
def install_executor(app) -> None:
    if not hasattr(jupyter_cache_executors, "executenb") or not hasattr(
        myst_nb_execute, "NotebookClientCache"
    ):
        raise ExtensionError(
            "course_site: this jupyter-cache or MyST-NB has no executenb / NotebookClientCache; "
            "the site's executor hooks need updating"
        )
    jupyter_cache_executors.executenb = functools.partial(
        execute_lesson, lesson_timeout=app.config.resnext_edu_lesson_timeout
    )
    StaticWidgetClient.language = app.config.language
    myst_nb_execute.NotebookClientCache = StaticWidgetClient


def setup(app):
    app.add_config_value("resnext_edu_mode", "default", "env", types=[str])
    app.add_config_value("resnext_edu_lesson_timeout", 0, "env", types=[int])
    app.connect("builder-inited", install_executor)
    app.add_transform(LessonLinks)
    app.add_post_transform(ProseLinks)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
