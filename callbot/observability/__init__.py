"""Prometheus metrics, health and readiness."""
