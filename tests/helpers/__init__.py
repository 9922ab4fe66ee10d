"""Shared test helpers: emulator-backed connections, Prefect servers, flows, webhooks, chaos."""
