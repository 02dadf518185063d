"""Figures for reports, charts and the analytics endpoints."""
