"""Many keep-alive clients at once: every answer is a 200 with the reference outputs."""

import pytest

from conftest import EXAMPLE_MODELS, ClientPool, mnist_workload, scaled, start_server


@pytest.fixture(scope="module", params=[
    pytest.param(((), 16, 500), id="default-threads-16x500"),
    pytest.param((("--threads", "1"), 8, 100), id="threads1-8x100"),
    pytest.param((("--threads", "2"), 8, 100), id="threads2-8x100"),
])
def load_setup(request):
    """A server over examples/models with the given options, and the load to put on it."""
    extra_args, clients, per_client = request.param
    srv = start_server(EXAMPLE_MODELS, *extra_args)
    yield srv, clients, scaled(per_client)
    code = srv.stop()
    assert code == 0, srv.stderr_text()


def test_concurrent_keep_alive_clients(load_setup):
    srv, clients, per_client = load_setup
    ok, problems = ClientPool(srv.url, mnist_workload(), clients, per_client).join()
    assert not problems, f"{len(problems)} bad answers, first ones: {problems[:5]}"
    assert ok == clients * per_client
    assert srv.alive(), srv.stderr_text()
