"""Receivers: certificates (connected by importing this module in ``ResourcesConfig.ready``)."""
