"""Receivers: search (connected by importing this module in ``ResourcesConfig.ready``)."""
