"""The drivers' exceptions live in one module, derive from the project's base, and say in one line
what they mean (as gpiozero's exc.py does)."""

import ast
import inspect

import pytest

from appliance.domain.errors import ApplianceError
from appliance.drivers import errors
from support import REPO_ROOT

DRIVER_ERRORS = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if cls.__module__ == errors.__name__]


@pytest.mark.parametrize("error", DRIVER_ERRORS, ids=lambda cls: cls.__name__)
def test_each_driver_error_derives_from_the_project_base_and_has_a_one_line_docstring(error):
    assert issubclass(error, errors.DriverError) and issubclass(error, ApplianceError)
    assert error.__doc__ and "\n" not in error.__doc__.strip()


def test_no_other_driver_module_declares_an_exception():
    declared = {}
    for path in sorted((REPO_ROOT / "drivers").glob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception")) for base in node.bases
            ):
                declared.setdefault(path.name, []).append(node.name)
    assert declared == {}
