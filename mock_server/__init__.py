"""A local simulator of the Quectel / Acceleronix end-user cloud API, centred on device sharing."""

__version__ = "0.1.0"
