"""The demo estate: a fictional council and hospital trust sharing synthetic data."""

from pathlib import Path

DEMO_ESTATE = Path(__file__).resolve().parent / "estate"
