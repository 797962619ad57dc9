"""Helpers for a step that reel runs as a process (the `python` and `shell` operators).

reel tells the step where to exchange data through environment variables (REEL_INPUTS,
REEL_OUTPUTS, REEL_ARTIFACTS_DIR, REEL_METRICS); this module reads and writes them, so that a
script can say:

    import reel_step

    rows = reel_step.input("extract", "rows")          # an upstream step's output
    path = reel_step.input_artifact("extract", "data.csv")  # an upstream artifact's path
    reel_step.output("rows", 3)                        # a value for the steps after this one
    reel_step.artifact("model.pt")                     # a file (or folder) as an artifact
    reel_step.metric("loss", 0.3, step=epoch)          # a metric, recorded with the run

Params reach a script through its arguments or environment (`args: ["{{ params.days }}"]`),
so that its cache key sees them. Nothing is published unless the process exits with status 0.
Only the standard library is used.
"""

import json
import os
import shutil

__all__ = [
    "run_id", "workflow", "step", "attempt", "logical_date", "item", "item_index", "input",
    "input_artifact", "output", "artifact", "artifact_dir", "metric",
]


def _env(name):
    value = os.environ.get(name)
    if value is None:
        raise RuntimeError(
            f"{name} is not set: this script is not running as a reel step "
            "(run it with `reel run`, through the python or shell operator)")
    return value


_inputs_cache = None


def _inputs():
    global _inputs_cache
    if _inputs_cache is None:
        with open(_env("REEL_INPUTS"), encoding="utf-8") as f:
            _inputs_cache = json.load(f)
    return _inputs_cache


def run_id():
    return _env("REEL_RUN_ID")


def workflow():
    return _env("REEL_WORKFLOW")


def step():
    return _env("REEL_STEP")


def attempt():
    return int(_env("REEL_ATTEMPT"))


def logical_date():
    return _env("REEL_LOGICAL_DATE")


def item():
    """The foreach item of this task (None outside foreach)."""
    return _inputs().get("item")


def item_index():
    """The index of this task in its foreach list (None outside foreach)."""
    index = _inputs().get("item_index", -1)
    return None if index < 0 else index


def _upstream(step_name):
    steps = _inputs().get("steps", {})
    if step_name not in steps:
        raise KeyError(
            f"{step_name!r} is not upstream of this step (upstream: "
            f"{', '.join(sorted(steps)) or 'none'}); add it to the step's needs")
    return steps[step_name]


def input(step_name, key=None, *, item=None):
    """The outputs of upstream step `step_name` (a dict; a list of dicts for a foreach step),
    or with `key` the one output. `item` picks one task of a foreach step."""
    outputs = _upstream(step_name)["outputs"]
    if item is not None:
        outputs = outputs[item]
    if key is None:
        return outputs
    if isinstance(outputs, list):
        raise KeyError(f"{step_name!r} is a foreach step: pass item=N to read one task's output")
    if key not in outputs:
        raise KeyError(
            f"step {step_name!r} has no output {key!r} (outputs: {', '.join(sorted(outputs))})")
    return outputs[key]


def input_artifact(step_name, name, *, item=None):
    """The read-only local path of artifact `name` of upstream step `step_name`."""
    artifacts = _upstream(step_name)["artifacts"]
    if item is not None:
        artifacts = artifacts[item]
    if isinstance(artifacts, list):
        raise KeyError(f"{step_name!r} is a foreach step: pass item=N to pick one task's artifact")
    if name not in artifacts or artifacts[name] is None:
        raise KeyError(
            f"step {step_name!r} has no artifact {name!r} "
            f"(artifacts: {', '.join(sorted(artifacts)) or 'none'})")
    return artifacts[name]


def output(key, value):
    """Publishes `value` (anything JSON can hold) as output `key` of this step."""
    path = _env("REEL_OUTPUTS")
    outputs = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            outputs = json.load(f)
    outputs[key] = value
    text = json.dumps(outputs, allow_nan=False)
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temp, path)


def artifact_dir():
    """The folder whose top-level entries become this step's artifacts."""
    return _env("REEL_ARTIFACTS_DIR")


def artifact(path, name=None):
    """Stores the file or folder at `path` as artifact `name` (its base name by default) and
    returns where it was placed. A path already inside artifact_dir() is left where it is."""
    folder = artifact_dir()
    name = name or os.path.basename(os.path.normpath(path))
    target = os.path.join(folder, name)
    if os.path.abspath(path) != os.path.abspath(target):
        if os.path.isdir(path):
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(path, target)
    elif not os.path.exists(target):
        raise FileNotFoundError(f"no file {path!r} to store as artifact {name!r}")
    return target


def metric(key, value, step=None):
    """Records metric `key`; `step` (an epoch or iteration) orders a series."""
    record = {"key": key, "value": float(value)}
    if step is not None:
        record["step"] = int(step)
    with open(_env("REEL_METRICS"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record, allow_nan=False) + "\n")
