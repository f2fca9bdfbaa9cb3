from tests.e2e.test_schemathesis import run_schemathesis


def test_quick(stack, team, tmp_path):
    team.with_bot()
    run_schemathesis(stack, team, "OWNER", tmp_path, examples=8)
