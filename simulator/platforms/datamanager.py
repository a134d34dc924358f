"""Placeholder blueprint; being written."""

from flask import Blueprint

bp = Blueprint("datamanager", __name__, url_prefix="/datamanager")
