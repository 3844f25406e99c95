"""The protocol between devices and the central backend: the OpenAPI document and its checks.

It is all the device and the reference backend (``entrance_backend``) share.
"""

from pathlib import Path

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
