"""Placeholder blueprint; being written."""

from flask import Blueprint

bp = Blueprint("platform_api", __name__, url_prefix="/api")
