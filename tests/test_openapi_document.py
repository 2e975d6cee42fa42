"""The OpenAPI documents are valid, describe every parameter with an example, and say what
the answers carry ("" as the success msg)."""

import pytest
from openapi_spec_validator import validate

from mock_server.api import schemas
from mock_server.api.declare import registry
from mock_server.api.openapi import control_operations
from mock_server.app import create_app

REGISTRY = registry()

DOCUMENTS = ("/_mock/openapi/quectel.json", "/_mock/openapi.json")


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


@pytest.mark.parametrize("path", DOCUMENTS)
def test_documents_pass_the_openapi_validator(client, path):
    validate(client.get(path).get_json())  # raises with the first error


def _parameters(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                yield f"{method.upper()} {path} {parameter['name']}", parameter


@pytest.mark.parametrize("path", DOCUMENTS)
def test_every_parameter_is_described_with_an_example(client, path):
    lacking = [name for name, p in _parameters(client.get(path).get_json()) if not p.get("description")]
    assert lacking == []
    if path.endswith("quectel.json"):
        assert [name for name, p in _parameters(client.get(path).get_json()) if "example" not in p] == []


def test_every_field_of_every_registered_endpoint_has_a_description():
    """The source of the descriptions: a new endpoint's schema without them fails here."""
    create_app()  # registers every endpoint
    lacking = [
        f"{doc.name}.{name}"
        for doc in REGISTRY
        if doc.schema is not None
        for name, field in doc.schema().fields.items()
        if not field.metadata.get("description") or "example" not in field.metadata
    ]
    assert len(REGISTRY) >= 16 and lacking == []


def test_timestamps_say_their_unit(client):
    document = client.get("/_mock/openapi/quectel.json").get_json()
    stamps = [(n, p) for n, p in _parameters(document) if n.endswith("ExpireAt")]
    assert stamps and all(schemas.EPOCH_MS in p["description"] for _, p in stamps)


def test_success_msg_is_empty_as_answers_carry_it(client):
    document = client.get("/_mock/openapi/quectel.json").get_json()
    operation = document["paths"]["/v2/binding/enduserapi/shareInfo"]["post"]
    media = operation["responses"]["200"]["content"]["application/json"]
    assert {"code": 200, "msg": ""} in media["schema"]["x-codes"]
    assert media["example"]["msg"] == "" and media["example"]["data"].startswith("share_dv_C")
    answer = client.post(
        "/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=4000000000000",
        headers={"Authorization": "owner-token"},
    ).get_json()
    assert answer["msg"] == media["example"]["msg"]


def test_every_control_route_is_in_the_control_document():
    """The document is collected from the routes: one without `@documented` fails here."""
    app = create_app()
    routes = list(control_operations(app))
    assert [f"{method} {rule.rule}" for rule, method, operation in routes if operation is None] == []
    paths = app.test_client().get("/_mock/openapi.json").get_json()["paths"]
    assert sum(len(operations) for operations in paths.values()) == len(routes) >= 30
    assert set(paths["/_mock/snapshot"]) == {"post"} and set(paths["/_mock/ui/login"]) == {"get", "post"}


def test_an_undocumented_control_route_is_found():
    app = create_app()
    app.add_url_rule("/_mock/forgotten/<thing>", "forgotten", lambda thing: thing, methods=["POST"])
    found = [f"{method} {rule.rule}" for rule, method, operation in control_operations(app) if operation is None]
    assert found == ["POST /_mock/forgotten/<thing>"]
