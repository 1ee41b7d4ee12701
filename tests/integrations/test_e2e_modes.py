"""The other two client modes through the Flask extension: ``with_result`` (Zeebe's own
CreateProcessInstanceWithResult, no relay) and ``redis`` (RedisAffinity over a real redis-server)."""
from __future__ import annotations

from flask import Flask, request

from zeebe_affinity_sync.commands.demo import make_order
from zeebe_affinity_sync.demo import BPMN_FILES
from zeebe_affinity_sync.demo.stack import LocalStack
from zeebe_affinity_sync.demo.workers import register
from zeebe_affinity_sync.flask import ZeebeAffinity


def order_app(config: dict) -> "tuple[Flask, ZeebeAffinity]":
    app = Flask(__name__)
    app.config.update(config)
    ext = ZeebeAffinity(app)

    @app.post("/orders")
    @ext.process("order-process", timeout=15)
    def order():
        return request.get_json()

    return app, ext


def check_order(app: Flask, n: int) -> None:
    order, expected = make_order(n)
    response = app.test_client().post("/orders", json=order)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in expected} == expected
    assert not any(k.startswith("_affinity") for k in body)


def test_with_result_mode(local_stack):
    app, ext = order_app({"ZEEBE_ADDRESS": local_stack.zeebe_address, "ZEEBE_AFFINITY_STRATEGY": "with_result"})
    try:
        check_order(app, 11)
        assert type(ext.settings(app)).__name__ == "WebSettings"
        with app.app_context():
            assert ext.client.strategy == "with_result"
    finally:
        ext.close(app)


def test_redis_mode(redis_server):
    from zeebe_affinity_sync.affinity.redis import RedisAffinity
    from zeebe_affinity_sync.zeebe.worker import JobWorker

    with LocalStack(workers=False, bpmn_files=BPMN_FILES) as stack:
        relay_client = RedisAffinity(stack.zeebe_address, redis_url=redis_server.url)
        business = JobWorker(relay_client, name="test-business")
        try:
            relay_client.create_affinity_worker()
            register(business)
            business.start()
            app, ext = order_app({
                "ZEEBE_ADDRESS": stack.zeebe_address,
                "ZEEBE_AFFINITY_STRATEGY": "redis",
                "ZEEBE_AFFINITY_REDIS_URL": redis_server.url,
            })
            try:
                check_order(app, 12)
                check_order(app, 13)
            finally:
                ext.close(app)
        finally:
            business.stop()
            relay_client.close()
