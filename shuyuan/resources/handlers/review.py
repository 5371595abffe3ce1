"""Receivers: review (connected by importing this module in ``ResourcesConfig.ready``)."""
