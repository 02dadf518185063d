from voice_agent.integrations.sidecar.client import SidecarClient, SidecarError, SidecarUnreachable

__all__ = ["SidecarClient", "SidecarError", "SidecarUnreachable"]
