"""A small HTTP server in the owner process for its introspection routes; the front's workers forward to it."""

from __future__ import annotations

import threading

from flask import Blueprint, Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class OwnerServer:
    def __init__(self, *blueprints: Blueprint):
        app = Flask("sagemaker-emulator-owner")
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True,
                                                   request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="sagemaker-emulator-owner-http", daemon=True)

    def start(self) -> "OwnerServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass  # one line per page poll would drown the serve command's output
