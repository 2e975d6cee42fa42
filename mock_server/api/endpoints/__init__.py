"""Endpoint modules, each declaring its endpoints with declare.Area."""
