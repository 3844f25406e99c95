"""Backend sync: the protocol between devices and the central backend, and its reference backend.

``openapi.json`` is the contract; ``contract.py`` checks requests against it, ``backend_store.py``
keeps the reference backend's SQLite data, and ``reference_backend.py`` serves it over HTTP.
"""
from pathlib import Path

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
