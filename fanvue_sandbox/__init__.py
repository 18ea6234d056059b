"""A faithful local Fanvue (auth server + API subset) for tests and local development.

from fanvue_sandbox import FanvueSandbox, SandboxConfig, CreatorSpec
with FanvueSandbox(SandboxConfig.demo()) as sb:
    base = sb.base_url   # FANVUE_API_BASE == FANVUE_AUTH_BASE
"""

from .config import CreatorSpec, SandboxConfig
from .sandbox import FanvueSandbox

__all__ = ["CreatorSpec", "FanvueSandbox", "SandboxConfig"]
