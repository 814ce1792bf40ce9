"""The people in a scene: tracks within views, the same person across views by the rig's
geometry, and the main person the fit follows."""

from core.people.association import Scene, associate, centrality
from core.people.sequence import cached_scene, scene_from_people, sequence_scene

__all__ = ["Scene", "associate", "cached_scene", "centrality", "scene_from_people", "sequence_scene"]
