"""Placeholder blueprint; being written."""

from flask import Blueprint

bp = Blueprint("google_ads", __name__, url_prefix="/google-ads")
