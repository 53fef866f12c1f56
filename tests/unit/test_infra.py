"""infra/stateful.json must declare exactly the keys and indexes the pynamodb models use."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.store.models import ALL_MODELS
from infra.provision import load_template

ROOT = Path(__file__).resolve().parents[2]


def _template_tables():
    tables = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            base = props["TableName"]["Fn::Sub"].removeprefix("sentinel-${Stage}-")
            tables[base] = props
    return tables


def _normal(schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_table_matches_model(model):
    props = _template_tables()[model.Meta.base_name]
    schema = model._get_schema()
    assert _normal(props["KeySchema"]) == _normal(schema["key_schema"])
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]) == sorted(
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"])
    declared = {g["IndexName"]: (_normal(g["KeySchema"]), g["Projection"]["ProjectionType"])
                for g in props.get("GlobalSecondaryIndexes", [])}
    modelled = {g["index_name"]: (_normal(g["key_schema"]), g["projection"]["ProjectionType"])
                for g in schema["global_secondary_indexes"]}
    assert declared == modelled
    ttl = [name for name, attr in model.get_attributes().items() if type(attr).__name__ == "TTLAttribute"]
    declared_ttl = [props["TimeToLiveSpecification"]["AttributeName"]] if "TimeToLiveSpecification" in props else []
    assert declared_ttl == ttl


def test_every_template_table_has_a_model():
    assert set(_template_tables()) == {m.Meta.base_name for m in ALL_MODELS}


def test_template_passes_cfn_lint():
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, str(ROOT / "infra" / "stateful.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
