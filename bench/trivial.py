"""The ceiling: a trivial Flask handler served exactly as the simulator is served."""

import sys

from flask import Flask

from mock_server.server import serve

app = Flask(__name__)


@app.get("/ping")
def ping():
    return {"code": 200, "msg": "", "data": None, "extMsg": None}


if __name__ == "__main__":
    serve(lambda: app, "127.0.0.1", int(sys.argv[1]))
