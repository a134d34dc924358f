"""Placeholder blueprint; being written."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
