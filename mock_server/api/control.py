"""The control API under /_mock/: the simulator's own endpoints, plain JSON in and out."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .dispatch import simulator

bp = Blueprint("control", __name__, url_prefix="/_mock")


@bp.get("/health")
def health():
    sim = simulator()
    return jsonify(status="ok", scenario=sim.scenario.name, worlds=len(sim.worlds))
