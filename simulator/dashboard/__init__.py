"""The partner dashboard: server-rendered pages, the platform inspector and scenario runs."""
