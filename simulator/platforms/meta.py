"""Placeholder blueprint; being written."""

from flask import Blueprint

bp = Blueprint("meta", __name__, url_prefix="/meta")
