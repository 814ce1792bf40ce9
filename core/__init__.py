"""CMANet Studio engine: body models, geometry, sequences, detection, fitting, networks, training.

Importable without Qt. The command line (``core.cli``) and the desktop app (``cmanet_app``) both
call the functions defined here.
"""

__version__ = "0.1.0"
