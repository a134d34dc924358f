"""Placeholder blueprint; being written."""

from flask import Blueprint

bp = Blueprint("tiktok", __name__, url_prefix="/tiktok")
