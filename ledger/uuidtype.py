"""The one class the library's table models need from ``sqlalchemy_utils``, loaded alone.

``eventsourcing_sqlalchemy.models`` imports ``UUIDType`` from
``sqlalchemy_utils.types.uuid``; importing that module the usual way first runs
the package's ``__init__``, which imports all of ``sqlalchemy_utils`` (some sixty
modules: 0.1 to 0.4 s, most of a short command's time). The module itself needs only
its sibling ``scalar_coercible``. Both are loaded here from the installed package's
own files, under their own names, so the library gets the genuine class (the
column type, and so the stored bytes, are unchanged) and the rest of the package
is never loaded. If anything else imports ``sqlalchemy_utils`` later, the package
loads normally and reuses these two modules.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACKAGE = "sqlalchemy_utils"
MODULES = ("types.scalar_coercible", "types.uuid")


def load_uuid_type() -> None:
    """Put ``sqlalchemy_utils.types.uuid`` in ``sys.modules`` without its package."""
    if f"{PACKAGE}.types.uuid" in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return  # not installed as files: let the library's own import say so
    folder = Path(next(iter(spec.submodule_search_locations)))
    for name in MODULES:
        full_name = f"{PACKAGE}.{name}"
        location = folder.joinpath(*name.split(".")).with_suffix(".py")
        module_spec = importlib.util.spec_from_file_location(full_name, location)
        if module_spec is None or module_spec.loader is None or not location.is_file():
            return
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[full_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception:
            del sys.modules[full_name]
            raise
