"""Configuration loading: Alertmanager's alertmanager.yml plus Tocsin's extensions."""
