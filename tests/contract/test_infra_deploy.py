"""The infrastructure step of `make deploy` against the emulator: the stack comes up with its outputs, a second
deploy keeps what an operator set (UploadOrigins) and the signing secret, and a stack still in progress is
waited for. The whole `make deploy` is rehearsed in tests/e2e/test_deploy_rehearsal.py."""

from __future__ import annotations

from infra import deploy, stack
from infra.outputs import settings_from_outputs


def test_the_stack_deploys_and_a_second_deploy_keeps_parameters_and_secret(session, endpoint, clients):
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    said: list[str] = []
    outputs = stack.deploy_stack(cfn, "qa", {"Cdn": "false", "UploadOrigins": "https://site.example"}, said.append)
    settings = settings_from_outputs(outputs)
    assert settings["KALEXO_MAIN_TABLE"] == "kalexo-qa-main"
    assert settings["KALEXO_DOCUMENTS_BUCKET"] == "kalexo-qa-documents-123456789012"
    assert settings["KALEXO_UPLOADS_QUEUE"] == "kalexo-qa-uploads"
    name = deploy.ensure_signing_secret(clients["ssm"], "qa")
    secret = clients["ssm"].get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    assert len(secret) >= 48
    # Deployed again without UploadOrigins: the operator's origins stay (they used to be reset to "*").
    assert stack.deploy_stack(cfn, "qa", {"Cdn": "false"}, said.append) == outputs
    current = stack.describe(cfn, "kalexo-qa")
    assert current is not None
    assert stack.parameter_value(current, "UploadOrigins") == "https://site.example"
    assert deploy.ensure_signing_secret(clients["ssm"], "qa") == name
    assert clients["ssm"].get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == secret
    assert any("CREATE_COMPLETE" in line for line in said)


def test_a_stack_in_progress_is_waited_for_and_a_failure_names_its_resources():
    class Cfn:
        class exceptions:
            ClientError = RuntimeError

        def __init__(self, statuses):
            self.statuses = list(statuses)

        def describe_stacks(self, StackName):
            return {"Stacks": [{"StackName": StackName, "StackStatus": self.statuses.pop(0)}]}

        def describe_stack_events(self, StackName):
            return {"StackEvents": [
                {"LogicalResourceId": "SiteDistribution", "ResourceStatus": "CREATE_FAILED",
                 "ResourceStatusReason": "quota exceeded"},
                {"LogicalResourceId": "MainTable", "ResourceStatus": "CREATE_COMPLETE"}]}

    sleeps: list[float] = []
    done = stack.wait_settled(Cfn(["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]), "kalexo-x",
                              say=lambda _: None, sleep=sleeps.append)
    assert done["StackStatus"] == "CREATE_COMPLETE" and len(sleeps) == 2
    try:
        stack.wait_settled(Cfn(["ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]), "kalexo-x", say=lambda _: None,
                           sleep=sleeps.append)
    except stack.StackError as exc:
        assert "SiteDistribution CREATE_FAILED: quota exceeded" in str(exc)
        assert "MainTable" not in str(exc)
    else:
        raise AssertionError("a rolled-back stack must fail the deploy")
