"""What a valid sweep record holds: the settings a sweep may start with, and the fields of a result file (lesson 05).

Result files are JSON that a learner can open, copy and edit by hand, so every field a reader uses is checked when
the file is read (:func:`check_result`): a string where a number belongs (``"seed": "0"``), an accuracy above 1 or a
missing epoch makes the file *skipped and named* (by :func:`~resnext_edu.sweep.results.gather` and the runner), never
a TypeError in the report or the explorer. (The settings a sweep may *start* with are checked by
:func:`resnext_edu.sweep.settings.check_settings`.)
"""

from __future__ import annotations

import math
from numbers import Real

from .configs import AXES, SweepConfig


# The settings every run of a sweep shares: (field, type, may it be None?)
SETTINGS_FIELDS = (("epochs", int, False), ("batch_size", int, False), ("lr", float, False),
                   ("schedule", str, False), ("warmup", float, False), ("weight_decay", float, False),
                   ("dataset", str, False), ("subset", int, True), ("test_subset", int, True),
                   ("final_test_subset", int, True), ("precision", str, False))
# Settings added later (the fast recipe), with the value every file written before them was trained with.
LATER_SETTINGS = (("nesterov", bool, False), ("label_smoothing", float, 0.0), ("crop_padding", int, 4))
CONFIG_FIELDS = (("budget", str), ("scale", int), ("axis", str), ("depth", int), ("cardinality", int),
                 ("base_width", int), ("stem_width", int), ("num_classes", int), ("target_params", int),
                 ("params", int), ("macs", int))
FINAL_NUMBERS = ("test_acc", "test_loss", "train_acc", "train_loss", "seconds_per_epoch")
EPOCH_NUMBERS = ("test_acc", "test_loss", "train_acc", "train_loss", "train_seconds")
ACCURACIES = ("test_acc", "train_acc")
KIND_WORDS = {int: "a whole number", float: "a finite number", str: "a string", bool: "true or false"}


class RecordError(ValueError):
    """A field of a settings or result record has the wrong type or value; the message names the field."""


def is_kind(value, kind: type) -> bool:
    """JSON's types, strictly: a bool is not a number, a float is not an int (1.0 is not a seed)."""
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, Real) and math.isfinite(value)
    return isinstance(value, kind)


def _field(record: dict, where: str, name: str, kind: type, optional: bool = False):
    if not isinstance(record, dict):
        raise RecordError(f"{where} is {type(record).__name__}, not an object")
    if name not in record:
        raise RecordError(f"{where or 'the file'} lacks {name!r}")
    value = record[name]
    if value is None and optional:
        return None
    if not is_kind(value, kind):
        raise RecordError(f"{f'{where}[{name!r}]' if where else name} is {value!r} ({type(value).__name__}); expected "
                          f"{KIND_WORDS[kind]}" + (" or null" if optional else ""))
    return value


def check_settings_record(settings: dict, where: str = "settings") -> dict:
    """The types of a sweep's settings as stored in a file (``settings.json``, a result's ``settings``)."""
    for name, kind, optional in SETTINGS_FIELDS:
        _field(settings, where, name, kind, optional)
    for name, kind, _ in LATER_SETTINGS:
        if name in settings:
            _field(settings, where, name, kind)
    return settings


def with_later_settings(settings: dict) -> dict:
    """A stored settings record with the settings added later filled in (:data:`LATER_SETTINGS`), so that a folder
    or result written before them compares equal to the same settings written now."""
    return {**{name: default for name, _, default in LATER_SETTINGS}, **settings}


def check_result(raw: dict) -> SweepConfig:
    """Check every field a reader of a result file uses; return its config. Raises :class:`RecordError`."""
    run_id = _field(raw, "", "run_id", str)
    seed = _field(raw, "", "seed", int)
    if seed < 0:
        raise RecordError(f"seed is {seed}; seeds are whole numbers >= 0")
    config = raw.get("config")
    if isinstance(config, dict) and "bottleneck_width" in config and "base_width" not in config:
        config = {**config, "base_width": config["bottleneck_width"]}       # written before the rename
    for name, kind in CONFIG_FIELDS:
        value = _field(config, "config", name, kind)
        if kind is int and value < 1:
            raise RecordError(f"config[{name!r}] is {value}; expected a whole number >= 1")
    widths = config.get("stage_widths")
    if not (isinstance(widths, list) and widths and all(is_kind(w, int) and w > 0 for w in widths)):
        raise RecordError(f"config['stage_widths'] is {widths!r}; expected a list of whole numbers >= 1")
    if config["axis"] not in AXES:
        raise RecordError(f"config['axis'] is {config['axis']!r}; expected one of {', '.join(AXES)}")
    parsed = SweepConfig.from_dict(config)
    if run_id != f"{parsed.key}_seed{seed}":
        raise RecordError(f"run_id {run_id!r} does not match its config and seed ({parsed.key}_seed{seed}; "
                          f"edited by hand?)")
    check_settings_record(raw.get("settings"))
    final = raw.get("final")
    for name in FINAL_NUMBERS:
        _field(final, "final", name, float)
    if final.get("min_seconds_per_epoch") is not None:
        _field(final, "final", "min_seconds_per_epoch", float)
    history = raw.get("history")
    if not isinstance(history, list) or not history:
        raise RecordError("history is not a list of epochs, or has none")
    for i, epoch in enumerate(history):
        where = f"history[{i}]"
        if _field(epoch, where, "epoch", int) != i + 1:
            raise RecordError(f"{where}['epoch'] is {epoch['epoch']}; expected {i + 1} (epochs in order, each once)")
        for name in EPOCH_NUMBERS:
            _field(epoch, where, name, float)
    for where, record in [("final", final)] + [(f"history[{i}]", e) for i, e in enumerate(history)]:
        for name in ACCURACIES:
            if not 0 <= record[name] <= 1:
                raise RecordError(f"{where}[{name!r}] is {record[name]}; an accuracy is a fraction in [0, 1]")
    return parsed


def differences(saved: dict, wanted: dict) -> dict:
    """``{name: (saved value, wanted value)}`` for every setting that differs (a setting added later and absent from
    an older file counts as the value that file was trained with: :func:`with_later_settings`)."""
    saved = with_later_settings(saved)
    return {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
