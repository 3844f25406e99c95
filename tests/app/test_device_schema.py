"""The device's config schema, put together from what each layer declares: every fact once."""

import dataclasses

import pytest

from appliance.app.config import SCHEMA
from appliance.domain import settings as domain_settings
from appliance.domain.config import Schema
from appliance.domain.config.types import NAME_PATTERN
from appliance.protocol.contract import Contract
from entrance_backend.main import NAME as BACKEND_NAME


def test_every_key_says_what_it_means():
    undocumented = [
        f"[{s.header}] {key}" for s in SCHEMA.sections.values() for key, spec in s.keys.items() if len(spec.doc) < 10
    ]

    assert undocumented == []


def test_the_model_the_code_reads_has_exactly_the_schemas_keys_with_their_docs():
    for section in SCHEMA.fixed():
        fields = dataclasses.fields(SCHEMA.models[section.name])
        assert [f.name for f in fields] == list(section.keys), section.name
        assert [f.metadata["doc"] for f in fields] == [spec.doc for spec in section.keys.values()]
    concern = [f.name for f in dataclasses.fields(SCHEMA.models["concern"])]
    assert concern == ["name", *SCHEMA.sections["concern"].keys]


def test_a_section_declared_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        Schema(domain_settings.DEVICE, domain_settings.DEVICE)


def test_a_default_the_type_refuses_fails_at_once_not_at_a_device():
    broken = dataclasses.replace(
        domain_settings.WAITS,
        keys={"counters": dataclasses.replace(domain_settings.WAITS.keys["counters"], default="many")},
    )

    with pytest.raises(ValueError, match=r"the default of \[waits\] counters is wrong: 'many' is not a whole number"):
        Schema(broken)


def test_devices_sites_and_concerns_share_one_name_pattern_with_the_protocol():
    protocol = Contract.load().pattern("Name")

    assert protocol.pattern == f"^{NAME_PATTERN}$"
    assert BACKEND_NAME.pattern == protocol.pattern
