"""The simulated API, one module an area; `declare.registry()` imports every module here."""
