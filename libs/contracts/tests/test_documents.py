import json
import shutil
import tomllib
from pathlib import Path

import academy_contracts
import pytest
import yaml
from academy_contracts import EVENT_TYPES, parse_event
from academy_contracts._yaml import dump_yaml
from academy_contracts.generate import README_FILE, main, render_documents
from academy_contracts.schemas import dump_json

CONTRACTS_ROOT = Path(__file__).resolve().parents[1]


def test_committed_documents_match_the_models(contracts_root):
    documents = render_documents(contracts_root)

    stale = [path for path, text in documents.items() if (contracts_root / path).read_text(encoding="utf-8") != text]

    assert not stale, f"regenerate with `make contracts`: {stale}"
    committed_schemas = {path.name for path in (contracts_root / "schemas").glob("*.json")}
    assert committed_schemas == {f"{event_type}.json" for event_type in EVENT_TYPES}


def test_generate_check_passes_on_the_committed_tree(contracts_root, capsys):
    assert main(["--check", "--root", str(contracts_root)]) == 0
    assert f"{len(EVENT_TYPES)} event types" in capsys.readouterr().out


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_schema_file_is_self_describing_and_sorted(contracts_root, event_type):
    text = (contracts_root / "schemas" / f"{event_type}.json").read_text(encoding="utf-8")
    schema = json.loads(text)

    assert text == dump_json(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:beauty-academy:events:{event_type}"
    assert schema["title"] == event_type
    assert schema["properties"]["type"]["const"] == event_type
    assert parse_event(schema["examples"][0])[0].type == event_type


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_example_validates_against_the_committed_schema(contracts_root, event_type):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((contracts_root / "schemas" / f"{event_type}.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    validator.validate(schema["examples"][0])
    broken = json.loads(json.dumps(schema["examples"][0]))
    broken["data"]["unexpected"] = 1
    assert not validator.is_valid(broken)


@pytest.fixture(scope="module")
def document():
    """The committed AsyncAPI document, read with a real YAML parser."""
    return yaml.safe_load((CONTRACTS_ROOT / "asyncapi.yaml").read_text(encoding="utf-8"))


class TestAsyncApi:
    def test_is_asyncapi_3(self, document):
        assert document["asyncapi"] == "3.0.0"
        assert document["info"]["version"] == academy_contracts.__version__
        assert document["servers"]["rabbitmq"]["protocol"] == "amqp"

    def test_has_a_channel_bound_to_the_exchange_for_every_event_type(self, document):
        channels = document["channels"]

        assert set(channels) == set(EVENT_TYPES)
        for event_type, channel in channels.items():
            assert channel["address"] == event_type
            assert channel["bindings"]["amqp"]["is"] == "routingKey"
            assert channel["bindings"]["amqp"]["exchange"] == {
                "name": "academy.events",
                "type": "topic",
                "durable": True,
                "autoDelete": False,
                "vhost": "/",
            }

    def test_every_event_type_is_sent_by_its_producer(self, document):
        operations = {operation["channel"]["$ref"]: operation for operation in document["operations"].values()}

        for event_type, model in EVENT_TYPES.items():
            operation = operations[f"#/channels/{event_type}"]
            assert operation["action"] == "send"
            assert operation["tags"] == [{"name": model.source_service}]
            assert operation["bindings"]["amqp"]["deliveryMode"] == 2

    def test_every_reference_resolves(self, document):
        def refs(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    yield node["$ref"]
                for value in node.values():
                    yield from refs(value)
            elif isinstance(node, list):
                for value in node:
                    yield from refs(value)

        for ref in refs(document):
            target = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            assert isinstance(target, dict), ref

    def test_message_examples_are_valid_events(self, document):
        for name, message in document["components"]["messages"].items():
            example = message["examples"][0]
            event, data = parse_event(example["payload"])
            assert type(data).__name__ == name
            assert example["headers"]["ce-id"] == event.id
            assert example["headers"]["ce-type"] == event.type == message["name"]


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "yes",
        "No",
        "null",
        "~",
        "",
        "3.0.0",
        "1.0",
        "0x1F",
        "2025-03-01",
        "2025-03-01T09:30:00Z",
        "a: b",
        "#comment",
        "- item",
        "'quoted'",
        '"double"',
        "Маникюр: базовый курс",
        "line one\nline two\n",
        "line one\n\n  indented\nlast",
        " leading space\nsecond",
        "trailing newlines\n\n",
        "tab\there",
        "separator\u2028inside",
        "$message.payload#/id",
        "^-?\\d+(\\.\\d{1,2})?$",
    ],
)
def test_yaml_writer_round_trips_tricky_strings(value):
    document = {"key": value, value or "empty": [value, {"nested": value}], "list": [[value], []], "empty": {}}

    assert yaml.safe_load(dump_yaml(document)) == document


def test_yaml_writer_round_trips_scalars():
    document = {"int": -3, "float": 0.5, "true": True, "false": False, "none": None, "list": [1, [2, [3]], {}]}

    assert yaml.safe_load(dump_yaml(document)) == document


def test_readme_lists_every_event_type(contracts_root):
    readme = (contracts_root / README_FILE).read_text(encoding="utf-8")

    for event_type in EVENT_TYPES:
        assert f"| `{event_type}` |" in readme


def test_package_version_matches_pyproject(contracts_root):
    pyproject = tomllib.loads((contracts_root / "pyproject.toml").read_text(encoding="utf-8"))

    assert pyproject["project"]["version"] == academy_contracts.__version__
    assert pyproject["project"]["dependencies"] == ["pydantic>=2.7,<3"]


@pytest.fixture
def tree(contracts_root, tmp_path):
    """A copy of the committed documents to run the generator against."""
    shutil.copytree(contracts_root / "schemas", tmp_path / "schemas")
    shutil.copy(contracts_root / "asyncapi.yaml", tmp_path / "asyncapi.yaml")
    shutil.copy(contracts_root / README_FILE, tmp_path / README_FILE)
    return tmp_path


def edit_schema(path, edit):
    """Apply `edit` to the data model's definition in the schema file at `path`."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    edit(schema["$defs"][schema["properties"]["data"]["$ref"].rsplit("/", 1)[1]])
    path.write_text(dump_json(schema), encoding="utf-8")
    return path


def edit_published_data(tree, event_type, edit):
    return edit_schema(tree / "schemas" / f"{event_type}.json", edit)


def test_check_fails_on_a_breaking_change_and_generate_refuses_to_write(tree, capsys):
    # The published schema has a required field the current model lost: the model broke v1.
    def add_required_field(data):
        data["properties"]["referrer_id"] = {"type": "integer", "description": "Who invited the learner."}
        data["required"].append("referrer_id")

    path = edit_published_data(tree, "users.user_registered.v1", add_required_field)
    before = path.read_text(encoding="utf-8")

    assert main(["--check", "--root", str(tree)]) == 1
    errors = capsys.readouterr().err
    assert "BREAKING users.user_registered.v1 at `data.referrer_id`: property removed" in errors
    # v2 exists already, so the next free version is suggested.
    assert "ship it as users.user_registered.v4 instead" in errors

    assert main(["--root", str(tree)]) == 1
    assert "Nothing was written" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == before


def test_check_reports_compatible_drift_and_generate_fixes_it(tree, capsys):
    # The published schema lacks an optional field the current model has: a compatible addition.
    edit_published_data(tree, "users.user_registered.v1", lambda data: data["properties"].pop("city"))
    (tree / "asyncapi.yaml").write_text("stale\n", encoding="utf-8")

    assert main(["--check", "--root", str(tree)]) == 1
    errors = capsys.readouterr().err
    assert "drift users.user_registered.v1 at `data.city`: optional property added (compatible)" in errors
    assert "drift asyncapi.yaml" in errors
    assert "make contracts" in errors
    assert "BREAKING" not in errors

    assert main(["--root", str(tree)]) == 0
    assert main(["--check", "--root", str(tree)]) == 0


def test_new_event_type_without_committed_schema_is_drift(tree, capsys):
    (tree / "schemas" / "billing.balance_low.v1.json").unlink()

    assert main(["--check", "--root", str(tree)]) == 1
    assert "drift billing.balance_low.v1: new event type" in capsys.readouterr().err
    assert main(["--root", str(tree)]) == 0
    assert (tree / "schemas" / "billing.balance_low.v1.json").is_file()


def test_baseline_directory_overrides_the_committed_schemas(tree, tmp_path_factory, capsys):
    baseline = tmp_path_factory.mktemp("main-branch") / "schemas"
    shutil.copytree(tree / "schemas", baseline)
    published = baseline / "billing.balance_low.v1.json"

    # Relaxed since the baseline: compatible, and the committed documents are current.
    edit_schema(published, lambda data: data["properties"]["threshold"].update(exclusiveMinimum=5))
    assert main(["--check", "--root", str(tree), "--baseline", str(baseline)]) == 0

    def add_required_currency(data):
        data["properties"]["currency"] = {"type": "string", "description": "Wallet currency."}
        data["required"].append("currency")

    edit_schema(published, add_required_currency)
    assert main(["--check", "--root", str(tree), "--baseline", str(baseline)]) == 1
    assert "BREAKING billing.balance_low.v1 at `data.currency`: property removed" in capsys.readouterr().err
