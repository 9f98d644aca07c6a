"""ListTaskDefinitions as ECS answers it (moto 5.2.5 ignores sort, maxResults and nextToken and
returns every revision oldest first). Parameter semantics from botocore's ECS service model
(ecs/2014-11-13/service-2.json, ListTaskDefinitionsRequest)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def register(ecs, family: str, n: int) -> list[str]:
    return [
        ecs.register_task_definition(
            family=family,
            containerDefinitions=[{"name": "app", "image": f"repo/{family}:{i}", "memory": 128}],
        )["taskDefinition"]["taskDefinitionArn"]
        for i in range(n)
    ]


def names(arns: list[str]) -> list[str]:
    return [a.split("/")[-1] for a in arns]


@pytest.fixture
def ecs(standin):
    ecs = standin.client("ecs")
    register(ecs, "web", 5)
    register(ecs, "web-api", 2)
    register(ecs, "other", 1)
    ecs.deregister_task_definition(taskDefinition="web:2")
    return ecs


def test_default_is_every_active_revision_by_family_then_revision_ascending(ecs):
    out = ecs.list_task_definitions()
    assert names(out["taskDefinitionArns"]) == ["other:1", "web:1", "web:3", "web:4", "web:5", "web-api:1", "web-api:2"]
    assert "nextToken" not in out


def test_family_prefix_is_the_full_family_name_not_a_prefix(ecs):
    assert names(ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]) == [
        "web:1",
        "web:3",
        "web:4",
        "web:5",
    ]
    assert ecs.list_task_definitions(familyPrefix="we")["taskDefinitionArns"] == []


def test_desc_lists_the_newest_first_so_maxresults_n_is_the_newest_n(ecs):
    first = ecs.list_task_definitions(familyPrefix="web", sort="DESC", maxResults=2)
    assert names(first["taskDefinitionArns"]) == ["web:5", "web:4"]
    assert first["nextToken"]
    second = ecs.list_task_definitions(familyPrefix="web", sort="DESC", maxResults=2, nextToken=first["nextToken"])
    assert names(second["taskDefinitionArns"]) == ["web:3", "web:1"]
    assert "nextToken" not in second
    everything = ecs.list_task_definitions(sort="DESC")["taskDefinitionArns"]
    assert names(everything) == ["web-api:2", "web-api:1", "web:5", "web:4", "web:3", "web:1", "other:1"]


def test_status_inactive_lists_deregistered_revisions(ecs):
    assert names(ecs.list_task_definitions(familyPrefix="web", status="INACTIVE")["taskDefinitionArns"]) == ["web:2"]


def test_pages_of_one_add_up_to_the_whole_list(ecs):
    pages = ecs.get_paginator("list_task_definitions").paginate(PaginationConfig={"PageSize": 1})
    seen = [arn for page in pages for arn in page["taskDefinitionArns"]]
    assert seen == ecs.list_task_definitions()["taskDefinitionArns"]


def test_default_page_is_100_with_a_next_token(standin):
    ecs = standin.client("ecs")
    arns = register(ecs, "big", 103)
    first = ecs.list_task_definitions(familyPrefix="big")
    assert first["taskDefinitionArns"] == arns[:100] and first["nextToken"]
    second = ecs.list_task_definitions(familyPrefix="big", nextToken=first["nextToken"])
    assert second["taskDefinitionArns"] == arns[100:] and "nextToken" not in second


def test_the_token_is_a_cursor_a_revision_registered_between_pages_neither_repeats_nor_shifts(ecs):
    first = ecs.list_task_definitions(familyPrefix="web", sort="DESC", maxResults=2)
    register(ecs, "web", 1)  # web:6
    second = ecs.list_task_definitions(familyPrefix="web", sort="DESC", maxResults=2, nextToken=first["nextToken"])
    assert names(second["taskDefinitionArns"]) == ["web:3", "web:1"]


@pytest.mark.parametrize("bad", [0, 101, -1])
def test_max_results_outside_1_to_100_is_invalid(ecs, bad):
    with pytest.raises(ClientError) as e:
        ecs.list_task_definitions(maxResults=bad)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_sort_status_or_token_is_invalid(ecs):
    for kwargs in ({"sort": "NEWEST"}, {"status": "GONE"}, {"nextToken": "not-a-token"}):
        with pytest.raises(ClientError) as e:
            ecs.list_task_definitions(**kwargs)
        assert e.value.response["Error"]["Code"] == "InvalidParameterException", kwargs
    # a token belongs to its query (ECS: keep the same status when paginating)
    token = ecs.list_task_definitions(familyPrefix="web", maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as e:
        ecs.list_task_definitions(familyPrefix="web", status="INACTIVE", nextToken=token)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_each_revision_says_when_it_was_registered(ecs):
    """ECS's TaskDefinition.registeredAt (botocore's service model); moto 5.2.5 omits it."""
    first = ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]["registeredAt"]
    new = ecs.register_task_definition(
        family="web",
        containerDefinitions=[{"name": "app", "image": "repo/web:new", "memory": 128}],
    )["taskDefinition"]
    assert new["registeredAt"] >= first
    assert (
        ecs.describe_task_definition(taskDefinition=new["taskDefinitionArn"])["taskDefinition"]["registeredAt"]
        == new["registeredAt"]
    )
